package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class Cgroup2MountTest {
    private static final String HYBRID = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """;

    @Test
    void parse_hybridLayout_findsTheUnifiedMount() {
        assertEquals(
                Optional.of(new Cgroup2Mount(Path.of("/sys/fs/cgroup/unified"), "/", false)),
                Cgroup2Mount.parse(HYBRID));
    }

    @Test
    void parse_withOptionalFieldsEscapesAndReadOnly_readsThemAll() {
        String line =
                "29 22 0:26 /sub /mnt/my\\040cgroups ro,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";

        assertEquals(Optional.of(new Cgroup2Mount(Path.of("/mnt/my cgroups"), "/sub", true)), Cgroup2Mount.parse(line));
    }

    @Test
    void parse_withoutCgroup2_isEmpty() {
        assertEquals(Optional.empty(), Cgroup2Mount.parse(HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs")));
    }

    @Test
    void dirOfAndPathOf_mapBothWays() {
        Cgroup2Mount whole = new Cgroup2Mount(Path.of("/cg"), "/", false);
        Cgroup2Mount sub = new Cgroup2Mount(Path.of("/cg"), "/a", false);

        assertEquals(Optional.of(Path.of("/cg/txfs/i/t")), whole.dirOf("/txfs/i/t"));
        assertEquals(Optional.of(Path.of("/cg")), whole.dirOf("/"));
        assertEquals("/txfs/i/t", whole.pathOf(Path.of("/cg/txfs/i/t")));
        assertEquals("/", whole.pathOf(Path.of("/cg")));
        assertEquals(Optional.of(Path.of("/cg/b")), sub.dirOf("/a/b"));
        assertEquals(Optional.of(Path.of("/cg")), sub.dirOf("/a"));
        assertEquals(Optional.empty(), sub.dirOf("/ab"));
        assertEquals(Optional.empty(), whole.dirOf("/../x"), "outside our cgroup namespace");
        assertEquals("/a/b", sub.pathOf(Path.of("/cg/b")));
    }

    @Test
    void find_onThisMachine_agreesWithMountinfo() {
        Cgroup2Mount.find().ifPresent(m -> assertTrue(m.mountPoint().isAbsolute(), m.toString()));
    }
}
