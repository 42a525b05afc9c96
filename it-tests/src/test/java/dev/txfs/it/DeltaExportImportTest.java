package dev.txfs.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code txfs export} / {@code txfs import} between two stores with the real command: snapshots
 * made through a mount of store A are shipped as a full stream and then as a signed delta to store
 * B (not mounted), which then holds the same tree ids and checks out the same files; tampered,
 * truncated, unsigned, wrongly signed and baseless streams are refused with their exit code and
 * one line, and store B keeps exactly its objects and refs.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeltaExportImportTest extends LiveMountBase {
    private static final Pattern OBJECTS = Pattern.compile("exported \\S+: (\\d+) objects, (\\d+) bytes");
    private static Path storeB;
    private static Path files;
    private static Path key;
    private static String s1;
    private static String s2;

    @BeforeAll
    static void secondStoreAndKey() {
        storeB = work.resolve("store-b");
        files = work.resolve("files");
        txfs("--store", storeB.toString(), "init").ok();
        key = work.resolve("key");
        txfs("key", "generate", "-o", key.toString()).ok();
    }

    private static long[] export(String range, Path out, String... more) {
        List<String> args =
                new java.util.ArrayList<>(List.of("--store", store.toString(), "export", range, "-o", out.toString()));
        args.addAll(List.of(more));
        String printed = txfs(args.toArray(String[]::new)).ok().out();
        Matcher m = OBJECTS.matcher(printed);
        assertTrue(m.find(), printed);
        assertEquals(Long.parseLong(m.group(2)), out.toFile().length(), "the size export reports");
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }

    /** Store B's objects and refs, read directly (B is not mounted and no command runs). */
    private static String stateOfB() {
        try (LmdbObjectStore b = LmdbObjectStore.open(storeB)) {
            Set<ObjectId> ids = new TreeSet<>();
            b.forEachId(ids::add);
            SortedMap<String, ObjectId> refs = b.refs().list("");
            return ids.size() + " objects " + ids.hashCode() + " refs " + refs + " shallow " + b.shallow();
        }
    }

    private static Result importIntoB(Path stream, String... more) {
        List<String> args =
                new java.util.ArrayList<>(List.of("--store", storeB.toString(), "import", stream.toString()));
        args.addAll(List.of(more));
        return txfs(args.toArray(String[]::new));
    }

    @Test
    @Order(1)
    void exportImport_fullThenSignedDelta_givesStoreBTheSameTrees() throws Exception {
        Path d = dir("dx");
        byte[] big = new byte[10 << 20];
        new Random(42).nextBytes(big);
        Files.write(d.resolve("big.bin"), big);
        Files.createDirectories(d.resolve("etc"));
        Files.writeString(d.resolve("etc/config"), "a = 1\n");
        s1 = snapshotIn(d, "one");

        try (RandomAccessFile f = new RandomAccessFile(d.resolve("big.bin").toFile(), "rw")) {
            f.seek(5_000_000);
            f.write(new byte[] {'A', 'B', 'C', 'D'});
        }
        s2 = snapshotIn(d, "four bytes");

        // the full stream as version 1 (--level 0): what txfs before stream version 2 wrote still imports
        long[] full = export(s1, work.resolve("full.txfs"), "--level", "0");
        assertEquals(1, Files.readAllBytes(work.resolve("full.txfs"))[8], "--level 0 writes version 1");
        Result badLevel = txfs(
                "--store",
                store.toString(),
                "export",
                s1,
                "-o",
                work.resolve("x").toString(),
                "--level",
                "10");
        assertEquals(2, badLevel.exit(), badLevel::describe);
        assertTrue(badLevel.stderr().contains("--level must be 0 to 9"), badLevel.describe());
        long[] delta = export(
                s1 + ".." + s2,
                work.resolve("delta.txfs"),
                "--sign",
                key.toString(),
                "--ref",
                "HEAD",
                "--version",
                "2");
        System.out.printf(
                "it: full stream of a 10 MiB tree: %d objects, %d bytes; 4 bytes changed: %d objects, %d bytes%n",
                full[0], full[1], delta[0], delta[1]);
        assertTrue(delta[1] < 2 * 256 * 1024 + 16 * 1024, "a 4-byte change ships at most two chunks: " + delta[1]);
        // the changed chunk and the file's Blob travel as operations against their old versions
        assertTrue(delta[1] < 4 * 1024, "a 4-byte change ships a few hundred bytes: " + delta[1]);

        importIntoB(work.resolve("full.txfs"), "--ref", "HEAD").ok();
        String imported = importIntoB(work.resolve("delta.txfs"), "--ref", "HEAD", "--trust", key + ".pub")
                .ok()
                .out();
        assertTrue(imported.contains("signed by trusted key"), imported);

        assertEquals(treeOf(store, s2), treeOf(storeB, "HEAD"));
        assertEquals(treeOf(store, s1), treeOf(storeB, s1));
        assertTrue(txfs("--store", storeB.toString(), "verify").ok().out().startsWith("ok: "));
        txfs("--store", storeB.toString(), "checkout", s2, files.toString()).ok();
        sh("diff -r \"$1\" \"$2\"", d.toString(), files.resolve("dx").toString())
                .ok();
    }

    @Test
    @Order(2)
    void export_oneMiBFileAddedToA30000FileTree_shipsAboutTheFile() throws Exception {
        Path d = dir("many");
        py(java.time.Duration.ofMinutes(4), d, """
                import os
                for i in range(100):
                    os.mkdir('d%d' % i)
                    for j in range(300):
                        with open('d%d/f%d' % (i, j), 'w') as f:
                            f.write('file %d %d\\n' % (i, j))
                """).ok();
        String before = snapshotIn(d, "30000 files");
        byte[] mib = new byte[1 << 20];
        new Random(7).nextBytes(mib);
        Files.write(d.resolve("d50/added.bin"), mib);
        String after = snapshotIn(d, "one more MiB");
        long[] delta = export(before + ".." + after, work.resolve("mib.txfs"));
        System.out.printf("it: 1 MiB file added to a 30,000-file tree: %d objects, %d bytes%n", delta[0], delta[1]);
        assertTrue(delta[1] < (1 << 20) + 64 * 1024, "delta bytes: " + delta[1]);
    }

    @Test
    @Order(3)
    void import_badStreams_areRefusedAndStoreBStaysTheSame() throws Exception {
        Path delta = work.resolve("delta.txfs");
        byte[] good = Files.readAllBytes(delta);
        String state = stateOfB();

        byte[] tampered = good.clone();
        tampered[good.length / 2] ^= 0x01;
        Path t = Files.write(work.resolve("tampered.txfs"), tampered);
        refused(importIntoB(t, "--ref", "x"), 2, "corrupt object: expected=", state);

        Path cut = Files.write(work.resolve("cut.txfs"), java.util.Arrays.copyOf(good, good.length - 50));
        refused(importIntoB(cut, "--ref", "x"), 2, "stream truncated", state);

        Path unsigned = work.resolve("unsigned.txfs");
        export(s1 + ".." + s2, unsigned);
        refused(importIntoB(unsigned, "--trust", key + ".pub", "--ref", "x"), 7, "not signed", state);

        Path other = work.resolve("other-key");
        txfs("key", "generate", "-o", other.toString()).ok();
        refused(importIntoB(delta, "--trust", other + ".pub", "--ref", "x"), 7, "which is not trusted", state);

        byte[] badSig = good.clone();
        badSig[good.length - 3] ^= 0x01;
        Path bs = Files.write(work.resolve("badsig.txfs"), badSig);
        refused(importIntoB(bs, "--trust", key + ".pub", "--ref", "x"), 7, "bad signature", state);

        refused(importIntoB(work.resolve("mib.txfs"), "--ref", "x"), 3, "is not in this store", state);

        // a trusted key in the store's directory makes signatures required without --trust
        txfs("--store", storeB.toString(), "key", "trust", key + ".pub").ok();
        state = stateOfB();
        refused(importIntoB(unsigned, "--ref", "x"), 7, "not signed", state);
    }

    /**
     * Regression (issue 14, finding 10), with the real command: an old signed stream re-imported
     * with --force onto boot/default rolled the store back, and the boot try counter stayed as it
     * was. Store B trusts the key (test 3); streams are signed for boot/default, versions 1 and 2.
     */
    @Test
    @Order(5)
    void import_olderSignedStreamOntoBootDefault_isRefusedAndANewDefaultIsUnderAssessment() throws Exception {
        Path v1 = work.resolve("boot-v1.txfs");
        Path v2 = work.resolve("boot-v2.txfs");
        export(s1, v1, "--sign", key.toString(), "--ref", "boot/default", "--version", "1");
        export(s1 + ".." + s2, v2, "--sign", key.toString(), "--ref", "boot/default", "--version", "2");
        importIntoB(v1).ok();
        importIntoB(v2, "--tries", "2").ok();
        try (LmdbObjectStore b = LmdbObjectStore.open(storeB)) {
            assertEquals(s2, b.refs().find("boot/default").orElseThrow().toHex());
            assertEquals(
                    s2 + " 2 2", new String(b.refs().findValue("boot/tries").orElseThrow(), UTF_8));
        }
        String state = stateOfB();
        refused(importIntoB(v1, "--ref", "boot/default", "--force"), 7, "is not above version 2", state);
        refused(importIntoB(v2, "--ref", "HEAD", "--force"), 7, "signed for ref boot/default, not HEAD", state);
    }

    private static void refused(Result r, int exit, String message, String state) throws IOException {
        assertEquals(exit, r.exit(), r::describe);
        assertTrue(
                r.stderr().startsWith("txfs: import rejected: ") && r.stderr().contains(message), r.describe());
        assertEquals(1, r.stderr().strip().lines().count(), "one line: " + r.stderr());
        assertEquals(state, stateOfB(), "store B unchanged");
    }

    @Test
    @Order(4)
    void verify_signedBy_checksTheSnapshotSignature() {
        txfs("--store", store.toString(), "sign", "--key", key.toString(), s2).ok();
        assertTrue(txfs("--store", store.toString(), "verify", "--signed-by", key + ".pub", s2)
                .ok()
                .out()
                .startsWith("ok: snapshot "));
        Result unsigned = txfs("--store", store.toString(), "verify", "--signed-by", key + ".pub", s1);
        assertEquals(1, unsigned.exit(), unsigned::describe);
        assertTrue(unsigned.stderr().contains("has no signature"), unsigned.describe());
        Result other =
                txfs("--store", store.toString(), "verify", "--signed-by", work.resolve("other-key") + ".pub", s2);
        assertEquals(1, other.exit(), other::describe);
    }
}
