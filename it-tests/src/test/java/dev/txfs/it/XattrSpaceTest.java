package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The extended attributes of one node are bounded (64 KiB of names and values), in the live tree
 * and in transactions: past it setxattr fails with ENOSPC, a single value over the kernel's 64 KiB
 * with E2BIG, and the daemon stays up. Issue 14, finding 5: 6,000 × 64 KiB user.* xattrs on one
 * file ended the daemon on OutOfMemoryError.
 */
class XattrSpaceTest extends TransactionItBase {
    /**
     * On file argv[1]: the audit's recipe (6,000 × 64 KiB values), then 16 KiB values until one
     * fails, then one that exceeds the kernel's value limit, then a removal and a set again; prints
     * the errnos with their counts, and the seconds the recipe took.
     */
    private static final String FILL = PY_ERR + """
            import collections, time
            f = sys.argv[1]
            open(f, 'w').close()
            t = time.monotonic()
            recipe = collections.Counter(err(lambda: os.setxattr(f, f'user.big{i}', b'x' * 65536)) for i in range(6000))
            took = time.monotonic() - t
            fits = 0
            while err(lambda: os.setxattr(f, f'user.s{fits}', b'y' * 16384)) == 'ok':
                fits += 1
            last = err(lambda: os.setxattr(f, f'user.s{fits}', b'y' * 16384))
            huge = err(lambda: os.setxattr(f, 'user.huge', b'z' * 65537))
            os.removexattr(f, 'user.s0')
            again = err(lambda: os.setxattr(f, 'user.s0', b'y' * 16384))
            print(dict(recipe), fits, last, huge, again, len(os.getxattr(f, 'user.s1')))
            print(f'{took:.2f}', file=sys.stderr)
            """;

    private static final String EXPECTED = "{'ENOSPC': 6000} 3 ENOSPC E2BIG ok 16384\n";

    @Test
    void thousandsOfLargeXattrsOnOneFile_failWithENOSPC_andTheDaemonStaysUp() throws Exception {
        Path d = dir("xattrs");
        sh("chmod 0777 \"$1\"", d.toString()).ok();
        long daemon = daemonPids().get(0);
        Result live = pyAsNobody(d, FILL, "live");
        assertEquals(EXPECTED, live.ok().out(), "as nobody, in the live tree");
        System.out.printf(
                "[xattrs] the audit's recipe as nobody: %s s%n", live.stderr().strip());

        Path w = tempDir("txfs-txn");
        try {
            Files.writeString(w.resolve("fill.py"), FILL);
            sh("chmod 0755 \"$1\" && chmod 0644 \"$1/fill.py\"", w.toString()).ok();
            Result txn = run(
                    QUICK,
                    d,
                    List.of(
                            "runuser",
                            "-u",
                            "nobody",
                            "--",
                            TXFS.toString(),
                            "run",
                            "--discard",
                            "--",
                            "python3",
                            w.resolve("fill.py").toString(),
                            "txn"));
            assertEquals(EXPECTED, txn.ok().out(), "as nobody, in a transaction");
        } finally {
            removeTree(w);
        }
        assertEquals(List.of(daemon), daemonPids(), "the same daemon serves the mount");
        assertTrue(Files.exists(d.resolve("live")), "the mount answers");
    }
}
