package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On a {@code -o rootfs} mount (suid,dev) the live tree and transactions on it honour setuid bits,
 * device nodes and file capabilities; the snapshots under {@code /.txfs/snapshots} and a view on an
 * older base ({@code txfs run --base}) behave as nosuid,nodev (issue 14, finding 2): an old
 * setuid-root binary run from there by {@code nobody} keeps euid 65534, a 0666 device node there
 * cannot be opened, and a file capability there is not applied.
 */
class ViewPrivilegesTest extends TransactionItBase {
    @BeforeAll
    static void rootfs() {
        remount("-o", "rootfs");
    }

    /**
     * Runs as nobody: the euid a setuid-root copy of {@code id} gives, the effective capabilities of
     * a {@code cat} with {@code cap_setuid+ep} (0x80 when applied), and whether the 0666 device node
     * {@code zero} (1:5) opens.
     */
    private static final String PROBE = """
            ./suid-id -u
            ./cap-cat /proc/self/status | sed -n 's/^CapEff:\\t//p'
            if head -c 1 zero > /dev/null 2> /dev/null; then echo opened; else echo refused; fi
            """;

    /**
     * {@code begin 0 probe BASE} written to the control file by python, whose parent (this shell)
     * becomes the transaction's root; then {@link #PROBE} in that view, then abort. $1 the mount, $2
     * the base, $3 txfs.
     */
    private static final String PROBE_IN_BEGIN_ON_BASE = """
            python3 -c 'import os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            os.write(fd, ("begin\\t0\\tprobe\\t" + sys.argv[2] + "\\n").encode())
            assert os.pread(fd, 4096, 0).startswith(b"ok\\n")' "$1/.txfs/ctl" "$2"
            """ + PROBE + """
            "$3" abort > /dev/null
            """;

    private static String probeAsNobody(Path cwd) {
        return bashIn(cwd, "runuser -u nobody -- bash -c \"$1\"", PROBE).ok().out();
    }

    @Test
    void setuidDevicesAndCapabilities_workInTheLiveTree_notInSnapshotsOrOldBaseViews() throws Exception {
        assumeTrue(has("setcap"), "needs setcap (libcap2-bin)");
        Path d = dir("priv");
        bashIn(d, """
                cp "$(command -v id)" suid-id && chown root:root suid-id && chmod 4755 suid-id
                cp "$(command -v cat)" cap-cat && setcap cap_setuid+ep cap-cat
                mknod -m 0666 zero c 1 5
                """).ok();
        String honoured = "0\n0000000000000080\nopened\n";
        assertEquals(honoured, probeAsNobody(d), "live tree: honoured, so the refusals below are not vacuous");
        assertEquals(
                honoured,
                bashIn(d, "runuser -u nobody -- \"$1\" run --discard -- bash -c \"$2\"", TXFS.toString(), PROBE)
                        .ok()
                        .out(),
                "a transaction on the live state: honoured");

        String old = snapshotIn(d, "privileged");
        // fixed since: the live tree no longer has them, so a view on `old` is on another base
        bashIn(d, "chmod 0755 suid-id && setcap -r cap-cat && rm zero").ok();

        String refused = "65534\n0000000000000000\nrefused\n";
        Path snap = mp.resolve(".txfs/snapshots").resolve(old).resolve("priv");
        assertEquals(refused, probeAsNobody(snap), "in /.txfs/snapshots");
        assertEquals(
                "-rwxr-xr-x 0,0\n",
                bashIn(snap, "stat -c '%A' suid-id; stat -c '%t,%T' zero")
                        .ok()
                        .out()
                        .replace("\n0,0", " 0,0"),
                "what stat shows there");
        assertEquals(
                refused,
                bashIn(
                                d,
                                "runuser -u nobody -- \"$1\" run --base \"$2\" --discard -- bash -c \"$3\"",
                                TXFS.toString(),
                                old,
                                PROBE)
                        .ok()
                        .out(),
                "in a txfs run --base view of the old snapshot");
        assertEquals(
                refused,
                bashIn(
                                d,
                                "runuser -u nobody -- bash -c \"$1\" bash \"$2\" \"$3\" \"$4\"",
                                PROBE_IN_BEGIN_ON_BASE,
                                mp.toString(),
                                old,
                                TXFS.toString())
                        .ok()
                        .out(),
                "in a view begun with the control file's begin ... BASE");
        assertEquals(
                "refused\n",
                bashIn(snap, "if head -c 1 zero > /dev/null 2>&1; then echo opened; else echo refused; fi")
                        .ok()
                        .out(),
                "root cannot open the device there either");
        assertEquals(
                "[]\n",
                py(snap, "import os; print(os.listxattr('cap-cat'))").ok().out(),
                "security.capability is not served there");
        // what the snapshot records is unchanged
        Path out = tempDir("txfs-priv");
        try {
            txfs("--store", store.toString(), "checkout", "--preserve-privileges", old, out.resolve("co").toString())
                    .ok();
            assertEquals(
                    "-rwsr-xr-x 1,5\n",
                    bashIn(out.resolve("co/priv"), "stat -c '%A' suid-id; stat -c '%t,%T' zero")
                            .ok()
                            .out()
                            .replace("\n1,5", " 1,5"),
                    "a checkout with --preserve-privileges keeps the setuid bit and the device");
        } finally {
            removeTree(out);
        }
    }
}
