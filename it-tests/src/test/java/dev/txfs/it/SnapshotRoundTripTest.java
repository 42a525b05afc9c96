package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A host tree through {@code txfs snapshot --from-dir} and {@code txfs checkout}, compared with
 * real tools: a few thousand files copied from /usr plus every kind of entry and metadata txfs
 * records. Needs root (devices, owners, trusted.* xattrs); run with {@code mvn -o verify
 * -Dtxfs.it.skip=false -pl it-tests -am}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotRoundTripTest extends TxfsItBase {
    /** Crafted cases; $1 is the source directory. */
    private static final String CRAFT = """
            cd "$1"
            cp -a /usr/share/doc usr-doc
            mkdir crafted && cd crafted
            # hard links: a group of three names, one across directories
            echo group-of-three > h1; ln h1 h2; ln h1 h3
            mkdir la lb; echo across > la/x; ln la/x lb/y
            # symlinks, one dangling, one with its own owner and ns mtime
            ln -s h1 sym; ln -s /no/such/target dangling; ln -s ../crafted/la dirlink
            # special files
            mkfifo fifo
            mknod chardev c 1 3
            mknod blockdev b 7 0
            python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
            # xattrs in every namespace
            echo x > xattrs
            setfattr -n user.color -v blue xattrs
            setfattr -n trusted.t -v 0x00ff10 xattrs
            setfattr -n security.s -v sec xattrs
            setfattr -h -n trusted.onlink -v l sym
            if command -v setfacl >/dev/null; then
              echo a > acl; setfacl -m u:1234:rwx,g:5678:r acl
              mkdir acl-dir; setfacl -d -m u:1234:rx acl-dir
            fi
            # sparse and empty
            truncate -s 100M sparse
            : > empty1; : > empty2; mkdir -p emptydir/nested-empty
            # modes
            echo s > setuid; chmod 4755 setuid
            echo g > setgid; chmod 2710 setgid
            mkdir sticky; chmod 1777 sticky
            mkdir sgid-dir; chmod 2775 sgid-dir
            echo r > readonly; chmod 0400 readonly
            mkdir ro-dir; echo in > ro-dir/f; chmod 0555 ro-dir
            # odd names
            echo 1 > 'with space'; echo 2 > $'new\\nline'; echo 3 > -leading-dash
            echo 4 > 'ünïcödé-名前'; echo 5 > $'bad\\xff\\xfebytes'
            echo 6 > "$(printf 'n%.0s' $(seq 255))"
            # sizes around the inline limit and the chunker's minimum, and a few MiB
            head -c 64 /dev/urandom > b64; head -c 65 /dev/urandom > b65
            head -c 16384 /dev/urandom > b16k; head -c 16385 /dev/urandom > b16k1
            head -c 3145728 /dev/urandom > mib3
            # owners and nanosecond mtimes (last: creating names changes a directory's mtime)
            echo o > owned; chown 1234567:7654321 owned; chown -h 4242:4343 sym
            touch -d '1999-12-31 23:59:59.999999999' owned
            touch -d '2020-01-01 00:00:00.000000001' b64
            touch -h -d '2001-02-03 04:05:06.123456789' sym
            touch -d '2002-02-02 02:02:02.020202020' emptydir/nested-empty
            """;

    /**
     * Every name with what checkout must keep (no atime, no ctime; %h compares link counts). A
     * directory's st_size is left out: on ext4 it is the blocks the directory ever grew to, an
     * artefact of the host filesystem's history, not of the tree.
     */
    private static final String LISTING = """
            cd "$1"
            find . -print0 | LC_ALL=C sort -z \\
              | xargs -0 stat --printf '%n\\t%F|%f %u %g %s %h %t %T %Y %y\\n' \\
              | awk -F'|' '{ if ($1 ~ /\\tdirectory$/) { n = split($2, a, " "); a[4] = "-"; s = a[1];
                  for (i = 2; i <= n; i++) s = s " " a[i]; print $1 "|" s } else print }'
            """;

    /** All xattrs of every name, symlinks not followed. */
    private static final String XATTRS = """
            cd "$1"
            find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -d -m - -h --absolute-names
            """;

    private Path work;
    private Path src;
    private Path out;
    private String store;
    private String snapshotId;
    private final List<String> timings = new ArrayList<>();

    @BeforeAll
    void roundTrip() throws Exception {
        assumeTrue(isRoot(), "the round trip needs root (devices, owners, trusted.* xattrs)");
        work = tempDir("txfs-it-roundtrip");
        src = work.resolve("src");
        out = work.resolve("out");
        store = work.resolve("store").toString();
        sh("mkdir \"$1\"", src.toString()).ok();
        sh(CRAFT, src.toString()).ok();
        txfs("--store", store, "init").ok();

        Result snap = txfs("--store", store, "snapshot", "--from-dir", src.toString(), "-m", "round trip", "-v")
                .ok();
        snapshotId = snap.out().strip();
        timings.add(snap.stderr().strip());
        // the round trip is exact, devices, setuid bits and capabilities included: this source is ours
        Result co = txfs("--store", store, "checkout", snapshotId, out.toString(), "-v", "--preserve-privileges")
                .ok();
        timings.add(co.stderr().strip());
        timings.forEach(t -> System.out.println("[round trip] " + t));
    }

    @AfterAll
    void cleanUp() {
        removeTree(work);
    }

    private String tree(String snapshot) {
        Matcher m = Pattern.compile("(?m)^tree +([0-9a-f]{64})$")
                .matcher(txfs("--store", store, "show", snapshot).ok().out());
        assertTrue(m.find());
        return m.group(1);
    }

    @Test
    void snapshot_whenTreeCopiedFromUsr_recordsThousandsOfEntries() {
        String show =
                txfs("--store", store, "show", snapshotId.substring(0, 6)).ok().out();
        Matcher m = Pattern.compile("entries +(\\d+):").matcher(show);
        assertTrue(m.find(), show);
        assertTrue(Long.parseLong(m.group(1)) > 2500, show);
        assertTrue(show.contains(snapshotId), show);
    }

    @Test
    void checkout_whenTreeCopiedFromUsr_diffFindsNoDifference() {
        Result diff = run(TIMEOUT, work, List.of("diff", "-r", "--no-dereference", src.toString(), out.toString()));
        // diff cannot compare special files; it names them: accept only same-kind pairs.
        Pattern sameKind = Pattern.compile(
                "^File (.+) is a (fifo|socket|character special file|block special file) while file (.+) is a \\2$");
        List<String> differences = new ArrayList<>();
        for (String line : diff.out().lines().toList()) {
            if (!sameKind.matcher(line).matches()) {
                differences.add(line);
            }
        }
        assertEquals(List.of(), differences, diff::describe);
        assertTrue(diff.exit() == 0 || diff.exit() == 1, diff::describe);
        assertTrue(diff.out().contains("is a fifo while file"), "the fifo was compared: " + diff.out());
    }

    @Test
    void checkout_whenTreeHasEveryKind_statListingIsIdentical() {
        String expected = sh(LISTING, src.toString()).ok().out();
        String actual = sh(LISTING, out.toString()).ok().out();
        assertTrue(
                expected.lines().count() > 2500,
                "listing too short: " + expected.lines().count());
        assertEquals(expected, actual);
    }

    @Test
    void checkout_whenTreeHasXattrsAndAcls_getfattrDumpIsIdentical() {
        String expected = sh(XATTRS, src.toString()).ok().out();
        String actual = sh(XATTRS, out.toString()).ok().out();
        assertTrue(expected.contains("user.color=\"blue\""), expected);
        assertTrue(expected.contains("trusted.t=0sAP8Q"), expected); // base64 of 00 ff 10
        assertTrue(expected.contains("security.s=\"sec\""), expected);
        assertTrue(expected.contains("trusted.onlink=\"l\""), expected);
        if (has("setfacl")) {
            assertTrue(expected.contains("system.posix_acl_access="), expected);
            assertTrue(expected.contains("system.posix_acl_default="), expected);
        }
        assertEquals(expected, actual);
    }

    @Test
    void checkout_whenTreeHasHardLinks_restoresLinkCounts() {
        String script = """
                cd "$1/crafted"
                stat -c '%h %i' h1 h2 h3 | sort -u | wc -l
                stat -c '%h' h1
                [ "$(stat -c %i la/x)" = "$(stat -c %i lb/y)" ] && echo same-inode
                stat -c '%h' lb/y
                """;
        assertEquals("1\n3\nsame-inode\n2\n", sh(script, out.toString()).ok().out());
    }

    @Test
    void checkout_whenTreeHasDevicesFifosAndSockets_recreatesThem() {
        String script = """
                cd "$1/crafted"
                stat -c '%F %t:%T %a' chardev blockdev fifo sock
                """;
        String expected = sh(script, src.toString()).ok().out();
        assertEquals(expected, sh(script, out.toString()).ok().out());
        assertTrue(expected.startsWith("character special file 1:3"), expected);
        assertTrue(expected.contains("block special file 7:0"), expected);
        assertTrue(expected.contains("socket"), expected);
    }

    @Test
    void checkout_whenFileIsSparse_keepsItSparse() {
        String blocksAndSize = sh("stat -c '%b %s' \"$1/crafted/sparse\"", out.toString())
                .ok()
                .out()
                .strip();
        String[] parts = blocksAndSize.split(" ");
        assertEquals(100L << 20, Long.parseLong(parts[1]));
        assertTrue(Long.parseLong(parts[0]) < 1024, "allocated 512-byte blocks: " + parts[0]);
    }

    @Test
    void checkout_whenNamesAreOdd_keepsTheBytes() {
        String script = """
                cd "$1/crafted"
                cat $'bad\\xff\\xfebytes' $'new\\nline' -- -leading-dash 'ünïcödé-名前' "$(printf 'n%.0s' $(seq 255))"
                """;
        assertEquals("5\n2\n3\n4\n6\n", sh(script, out.toString()).ok().out());
    }

    @Test
    void snapshot_whenSameTreeTakenTwice_givesTheSameTreeId() {
        Result second = txfs("--store", store, "snapshot", "--from-dir", src.toString(), "-m", "again", "-v")
                .ok();
        System.out.println("[round trip] second " + second.stderr().strip());
        assertEquals(tree(snapshotId), tree(second.out().strip()));
    }

    @Test
    void snapshot_ofTheCheckout_givesTheSourcesTreeId() {
        // Everything a tree id covers (names, kinds, modes, owners, mtimes, xattrs, links,
        // contents) survives the round trip; ctime is not part of a tree, so the ids are equal.
        Result a = txfs("--store", store, "snapshot", "--ref", "checkout", "--from-dir", out.toString())
                .ok();
        assertEquals(tree(snapshotId), tree(a.out().strip()));
    }

    @Test
    void verify_afterRoundTrip_isClean() {
        Result r = txfs("--store", store, "verify").ok();
        assertTrue(r.out().matches("ok: \\d+ objects, \\d+ bytes\\n"), r.out());
    }
}
