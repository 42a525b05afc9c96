package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code txfs export} and {@code txfs import} in-process (issue 14, findings 10 and 13): signed
 * streams bind the ref and a version, the receiving store keeps the highest version per ref,
 * importing onto boot/default restarts boot assessment, and export's temporary file is created
 * exclusively.
 */
class ExportImportCommandTest extends CliTestBase {
    private static final Instant T = Instant.parse("2026-12-01T00:00:00Z");
    private Path src;
    private Path storeB;
    private Path key;
    private String s1;
    private String s2;

    @BeforeEach
    void setUp() throws Exception {
        src = tmp.resolve("src");
        storeB = tmp.resolve("store-b");
        Files.createDirectories(src.resolve("etc"));
        Files.writeString(src.resolve("etc/release"), "one\n");
        assertEquals(0, inStore("init").exit());
        assertEquals(0, run("--store", storeB.toString(), "init").exit());
        s1 = snapshot();
        Files.writeString(src.resolve("etc/release"), "two\n");
        s2 = snapshot();
        key = tmp.resolve("key");
        assertEquals(0, run("key", "generate", "-o", key.toString()).exit());
        Run trust = run("--store", storeB.toString(), "key", "trust", key + ".pub");
        assertEquals(0, trust.exit(), trust.err());
    }

    private String snapshot() {
        Run r = inStore("snapshot", "--from-dir=" + src);
        assertEquals(0, r.exit(), r.err());
        return r.out().strip();
    }

    /** Exports {@code range} to {@code name} in the temporary directory, at time {@link #T}. */
    private Path export(String range, String name, String... more) {
        Path out = tmp.resolve(name);
        String[] args = Stream.concat(
                        Arrays.stream(
                                new String[] {"--store", store.toString(), "export", range, "-o", out.toString()}),
                        Arrays.stream(more))
                .toArray(String[]::new);
        Run r = run(
                cmd -> ((ExportCommand) cmd.getSubcommands().get("export").getCommand()).clock = at(T),
                locator(),
                args);
        assertEquals(0, r.exit(), r.err());
        return out;
    }

    private Run importIntoB(Instant now, Path stream, String... more) {
        String[] args = Stream.concat(
                        Arrays.stream(new String[] {"--store", storeB.toString(), "import", stream.toString()}),
                        Arrays.stream(more))
                .toArray(String[]::new);
        return run(
                cmd -> ((ImportCommand) cmd.getSubcommands().get("import").getCommand()).clock = at(now),
                locator(),
                args);
    }

    private Run importIntoB(Path stream, String... more) {
        return importIntoB(T, stream, more);
    }

    private StoreLocator locator() {
        return new StoreLocator(Map.of(), 1000, tmp.resolve("home"));
    }

    private static Clock at(Instant t) {
        return Clock.fixed(t, ZoneOffset.UTC);
    }

    private Optional<ObjectId> refOfB(String name) {
        try (LmdbObjectStore b = LmdbObjectStore.open(storeB)) {
            return b.refs().find(name);
        }
    }

    private Optional<String> valueOfB(String key) {
        try (LmdbObjectStore b = LmdbObjectStore.open(storeB)) {
            return b.refs().findValue(key).map(v -> new String(v, UTF_8));
        }
    }

    private static void refused(Run r, int exit, String message) {
        assertEquals(exit, r.exit(), r.err());
        assertTrue(r.err().startsWith("txfs: import rejected: ") && r.err().contains(message), r.err());
        assertEquals(1, r.errLines().size(), r.err());
    }

    /**
     * Regression (finding 10): an old signed stream re-imported with --force onto the ref it was
     * signed for rolled the store back. Now its version is below the ref's mark: refused, the ref
     * stays; --allow-downgrade accepts it, and the mark stays at the highest version.
     */
    @Test
    void import_olderSignedVersionReplayedWithForce_isRefusedUnlessDowngradeAllowed() {
        Path v1 = export(s1, "v1.txfs", "--sign", key.toString(), "--ref", "channel/stable", "--version", "1");
        Path v2 = export(
                s1 + ".." + s2, "v2.txfs", "--sign", key.toString(), "--ref", "channel/stable", "--version", "2");
        assertEquals(0, importIntoB(v1).exit());
        Run second = importIntoB(v2);
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().contains("as channel/stable version 2"), second.out());
        assertEquals("2 " + s2, valueOfB("ref-version/channel/stable").orElseThrow());

        refused(
                importIntoB(v1, "--ref", "channel/stable", "--force"),
                7,
                "version 1 of ref channel/stable is not above version 2");
        assertEquals(s2, refOfB("channel/stable").orElseThrow().toHex());

        assertEquals(0, importIntoB(v2).exit(), "the same stream again is no downgrade");
        Run down = importIntoB(v1, "--force", "--allow-downgrade");
        assertEquals(0, down.exit(), down.err());
        assertEquals(s1, refOfB("channel/stable").orElseThrow().toHex());
        assertEquals("2 " + s2, valueOfB("ref-version/channel/stable").orElseThrow(), "the mark never goes down");
    }

    /** Regression (finding 10): any signed stream could be put on any ref. */
    @Test
    void import_signedStreamOntoAnotherRef_isRefused() {
        Path s = export(s1, "s.txfs", "--sign", key.toString(), "--ref", "channel/testing", "--version", "5");
        refused(importIntoB(s, "--ref", BootSelector.DEFAULT), 7, "signed for ref channel/testing, not boot/default");
        assertEquals(Optional.empty(), refOfB(BootSelector.DEFAULT));
        assertEquals(Optional.empty(), valueOfB("ref-version/channel/testing"));
    }

    /**
     * Regression (finding 10): importing onto boot/default left the try counter as it was, so a
     * new default could be trusted without ever having booted (or inherit a spent counter).
     */
    @Test
    void import_ontoBootDefault_putsTheNewDefaultUnderAssessment() {
        Path v1 = export(s1, "v1.txfs", "--sign", key.toString(), "--ref", BootSelector.DEFAULT, "--version", "1");
        Path v2 = export(s1 + ".." + s2, "v2.txfs", "--sign", key.toString(), "--ref", BootSelector.DEFAULT);
        Run first = importIntoB(v1, "--tries", "2");
        assertEquals(0, first.exit(), first.err());
        assertEquals(s1 + " 2 2", valueOfB(BootSelector.TRIES).orElseThrow());
        Run second = importIntoB(v2); // --ref defaults to the signed one
        assertEquals(0, second.exit(), second.err());
        assertEquals(s2, refOfB(BootSelector.DEFAULT).orElseThrow().toHex());
        assertEquals(s2 + " 3 3", valueOfB(BootSelector.TRIES).orElseThrow());
        assertEquals(
                T.getEpochSecond() + " " + s2,
                valueOfB("ref-version/" + BootSelector.DEFAULT).orElseThrow(),
                "the default version is the signing time");
        assertEquals(2, importIntoB(v1, "--ref", "other", "--tries", "2").exit(), "--tries is for boot/default only");
    }

    @Test
    void import_afterTheSignedExpiry_isRefused() {
        Path s = export(s1, "s.txfs", "--sign", key.toString(), "--ref", "r", "--version", "1", "--expires", "P1D");
        refused(importIntoB(T.plus(Duration.ofDays(2)), s), 7, "expired at 2026-12-02T00:00:00Z");
        assertEquals(Optional.empty(), refOfB("r"));
        assertEquals(0, importIntoB(T.plus(Duration.ofHours(23)), s).exit());
    }

    @Test
    void export_signedWithoutRef_isUsage() {
        Run r = inStore("export", s1, "-o", tmp.resolve("x").toString(), "--sign", key.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--sign needs --ref NAME"), r.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    /**
     * Regression (finding 13): export wrote through the predictable name .FILE.tmp, so a symlink
     * planted there made it overwrite (as root) whatever the link pointed to. Now the temporary
     * file has a random name and is created exclusively: the planted link and its target stay.
     */
    @Test
    void export_whenTheOldTempNameIsASymlink_neitherFollowsNorRemovesIt() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "precious\n");
        Path planted = Files.createSymbolicLink(tmp.resolve(".out.txfs.tmp"), victim);
        Path out = export(s1, "out.txfs");
        assertEquals("precious\n", new String(Files.readAllBytes(victim), UTF_8), "the link target is untouched");
        assertTrue(Files.isSymbolicLink(planted));
        assertTrue(Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS));
        try (var names = Files.list(tmp)) {
            assertEquals(
                    List.of(),
                    names.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith(".out.txfs.") && n.endsWith(".tmp") && !n.equals(".out.txfs.tmp"))
                            .toList(),
                    "no temporary file is left");
        }
        Run r = importIntoB(out, "--ref", "x", "--trust", key + ".pub");
        refused(r, 7, "not signed");
        Files.delete(storeB.resolve(ImportCommand.TRUSTED_KEYS).resolve(keyId() + ".pub"));
        assertEquals(0, importIntoB(out, "--ref", "x").exit());
    }

    private String keyId() {
        return run("key", "id", key + ".pub").out().strip();
    }
}
