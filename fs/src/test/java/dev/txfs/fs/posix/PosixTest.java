package dev.txfs.fs.posix;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PosixTest {
    private final Posix posix = Posix.get();

    @TempDir
    Path tmp;

    private byte[] dir;

    @BeforeEach
    void setUp() {
        dir = Posix.bytes(tmp.toString());
    }

    private byte[] at(String name) {
        return Posix.child(dir, name.getBytes(UTF_8));
    }

    @Test
    void lstat_whenFileHasContent_reportsSizeModeAndNanosecondTimes() throws Exception {
        Path f = Files.writeString(tmp.resolve("f"), "hello");
        byte[] p = at("f");
        posix.chmod(p, 04751);
        posix.setTimes(p, Posix.OMIT_TIME, 1_234_567_890_123_456_789L, true);

        Stat st = posix.lstat(p);

        assertTrue(st.isRegularFile());
        assertEquals(5, st.size());
        assertEquals(04751, st.permissions());
        assertEquals(1_234_567_890_123_456_789L, st.mtimeNs());
        assertEquals(1, st.nlink());
        assertEquals(Files.getAttribute(f, "unix:ino"), st.ino());
    }

    @Test
    void setTimes_whenPathIsSymlink_changesTheLinkNotItsTarget() throws Exception {
        Files.writeString(tmp.resolve("target"), "x");
        posix.symlink("target".getBytes(UTF_8), at("link"));
        long targetMtime = posix.lstat(at("target")).mtimeNs();

        posix.setTimes(at("link"), Posix.OMIT_TIME, 42_000_000_007L, true);

        assertEquals(42_000_000_007L, posix.lstat(at("link")).mtimeNs());
        assertEquals(targetMtime, posix.lstat(at("target")).mtimeNs());
        assertArrayEquals("target".getBytes(UTF_8), posix.readlink(at("link")));
    }

    @Test
    void listDirectory_whenNameIsNotUtf8_returnsExactBytes() throws Exception {
        byte[] odd = {'a', (byte) 0xff, (byte) 0xfe, 'z'};
        posix.mknod(Posix.child(dir, odd), Stat.S_IFREG | 0644, 0);
        posix.mkdir(at("sub"), 0755);

        List<DirEntry> entries = posix.listDirectory(dir);

        assertEquals(2, entries.size());
        DirEntry file =
                entries.stream().filter(e -> e.name().length == 4).findFirst().orElseThrow();
        assertArrayEquals(odd, file.name());
        assertEquals(DirEntry.DT_REG, file.type());
        assertTrue(posix.lstat(Posix.child(dir, odd)).isRegularFile());
    }

    @Test
    void listDirectory_whenDirectoryIsLarge_returnsEveryName() throws Exception {
        for (int i = 0; i < 3000; i++) {
            posix.mknod(at("file-with-a-longish-name-" + i), Stat.S_IFREG | 0600, 0);
        }
        assertEquals(3000, posix.listDirectory(dir).size());
    }

    @Test
    void xattrs_whenSetOnFile_areListedAndReadBack() throws Exception {
        Files.writeString(tmp.resolve("f"), "x");
        byte[] big = new byte[3000]; // ext4 keeps a value within one block
        big[2999] = 7;
        posix.setXattr(at("f"), "user.small", new byte[] {1, 2, 3}, 0);
        posix.setXattr(at("f"), "user.empty", new byte[0], 0);
        posix.setXattr(at("f"), "user.big", big, 0);

        Map<String, byte[]> x = posix.getXattrs(at("f"));

        assertEquals(List.of("user.big", "user.empty", "user.small"), List.copyOf(x.keySet()));
        assertArrayEquals(new byte[] {1, 2, 3}, x.get("user.small"));
        assertArrayEquals(new byte[0], x.get("user.empty"));
        assertArrayEquals(big, x.get("user.big"));
    }

    @Test
    void mknod_whenFifo_createsFifoWithMode() throws Exception {
        int old = posix.umask(0);
        try {
            posix.mknod(at("fifo"), Stat.S_IFIFO | 0640, 0);
        } finally {
            posix.umask(old);
        }
        Stat st = posix.lstat(at("fifo"));
        assertEquals(Stat.S_IFIFO, st.type());
        assertEquals(0640, st.permissions());
    }

    @Test
    void mknod_whenCharDeviceAsRoot_keepsDeviceNumber() throws Exception {
        assumeTrue(posix.geteuid() == 0, "needs root");
        long dev = Stat.makedev(1, 3);
        posix.mknod(at("null"), Stat.S_IFCHR | 0666, dev);
        posix.lchown(at("null"), 1234, 5678);

        Stat st = posix.lstat(at("null"));

        assertEquals(Stat.S_IFCHR, st.type());
        assertEquals(dev, st.rdev());
        assertEquals(1234, st.uid());
        assertEquals(5678, st.gid());
    }

    @Test
    void makedev_whenNumbersAreLarge_roundTrips() {
        long dev = Stat.makedev(0x12345, 0x6789ab);
        assertEquals(0x12345, Stat.major(dev));
        assertEquals(0x6789ab, Stat.minor(dev));
        assertEquals(0x0103, Stat.makedev(1, 3));
    }

    @Test
    void link_whenFileExists_sharesTheInode() throws Exception {
        Files.writeString(tmp.resolve("a"), "x");
        posix.link(at("a"), at("b"));
        assertEquals(posix.lstat(at("a")).ino(), posix.lstat(at("b")).ino());
        assertEquals(2, posix.lstat(at("b")).nlink());
    }

    @Test
    void lstat_whenMissing_throwsWithErrnoCallAndPath() {
        PosixException e = assertThrows(PosixException.class, () -> posix.lstat(at("missing")));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("lstat " + tmp + "/missing: No such file or directory (ENOENT)", e.getMessage());
    }

    @Test
    void streams_whenSparseWriteOfZeros_keepSizeAndContent() throws Exception {
        byte[] p = at("sparse");
        int fd = posix.open(p, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_CLOEXEC, 0600);
        try (OutputStream out = posix.outputStream(fd, p, true)) {
            out.write(new byte[] {1, 2, 3});
            out.write(new byte[1 << 20]);
        }
        Stat st = posix.lstat(p);
        assertEquals(3 + (1 << 20), st.size());
        assertTrue(st.blocks() * 512 < (1 << 20), "a hole, not written zeros: " + st.blocks());

        int rfd = posix.open(p, Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        try (InputStream in = posix.inputStream(rfd, p)) {
            byte[] all = in.readAllBytes();
            assertEquals(3 + (1 << 20), all.length);
            assertEquals(3, all[2]);
            assertEquals(0, all[all.length - 1]);
        }
    }

    @Test
    void fstat_whenDescriptorOpen_matchesLstat() throws Exception {
        Files.writeString(tmp.resolve("f"), "abc");
        int fd = posix.open(at("f"), Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        try {
            assertEquals(posix.lstat(at("f")), posix.fstat(fd));
        } finally {
            posix.close(fd);
        }
    }

    @Test
    void listXattrs_whenNoneSet_isEmpty() throws Exception {
        Files.writeString(tmp.resolve("f"), "x");
        assertEquals(
                List.of(),
                posix.listXattrs(at("f")).stream()
                        .filter(n -> n.startsWith("user."))
                        .collect(Collectors.toList()));
    }

    @Test
    void lstatAt_whenDirectoryOpen_statsNamesRelativeToIt() throws Exception {
        Files.writeString(tmp.resolve("f"), "12345");
        posix.symlink("f".getBytes(UTF_8), at("l"));
        int fd = posix.openDirectory(dir);
        try {
            assertEquals(posix.lstat(at("f")), posix.lstatAt(fd, "f".getBytes(UTF_8), at("f")));
            assertTrue(posix.lstatAt(fd, "l".getBytes(UTF_8), at("l")).isSymlink());
            assertEquals(2, posix.listDirectory(fd, dir).size());
            PosixException e =
                    assertThrows(PosixException.class, () -> posix.lstatAt(fd, "nope".getBytes(UTF_8), at("nope")));
            assertEquals(Errno.ENOENT, e.errno());
        } finally {
            posix.close(fd);
        }
    }

    @Test
    void openDirectory_whenPathIsSymlinkToDirectory_refusesToFollowIt() throws Exception {
        posix.mkdir(at("d"), 0755);
        posix.symlink("d".getBytes(UTF_8), at("l"));
        PosixException e = assertThrows(PosixException.class, () -> posix.openDirectory(at("l")));
        assertEquals(Errno.ENOTDIR, e.errno()); // O_NOFOLLOW|O_DIRECTORY on a symlink
    }
}
