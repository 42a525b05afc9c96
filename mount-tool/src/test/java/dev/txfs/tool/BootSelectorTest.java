package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The boot decision and the try counting, on an in-memory store. */
final class BootSelectorTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final BootSelector selector = new BootSelector(store);
    private ObjectId a;
    private ObjectId b;

    @BeforeEach
    void twoSnapshots() {
        ObjectId root;
        try (ObjectWriter w = store.newWriter()) {
            TreeRef top = Directories.write(w, List.of());
            root = HardLinks.writeRoot(
                    w,
                    TreeEntry.builder("", EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(top)
                            .build(),
                    List.of());
        }
        a = Snapshots.record(store, Snapshots.HEAD, root, "t", "a", () -> 1L);
        b = Snapshots.record(store, Snapshots.HEAD, root, "t", "b", () -> 2L);
        assertTrue(store.compareAndSet("tags/v2", null, b));
    }

    private static KernelCmdline cmdline(String s) {
        return KernelCmdline.parse(s);
    }

    @Test
    void parse_keepsTheLastOccurrence_andUnquotes() {
        KernelCmdline c = KernelCmdline.parse("ro txfs.root=x quiet txfs.root=\"y z\"  txfs.store=UUID=12-34:/st\n");
        assertEquals(Optional.of("y z"), c.find("txfs.root"));
        assertEquals(Optional.of(""), c.find("quiet"));
        assertEquals(
                new KernelCmdline.StoreLocation("UUID=12-34", "/st"), c.store().orElseThrow());
        assertEquals(
                new KernelCmdline.StoreLocation("/dev/vda", "/"),
                KernelCmdline.parse("txfs.store=/dev/vda").store().orElseThrow());
        assertEquals(Optional.empty(), KernelCmdline.parse("").find("txfs.root"));
    }

    @Test
    void decide_explicitRoot_byIdPrefixRefAndTag_usesNoTry() {
        selector.setDefault(a, 3);
        assertEquals(b, selector.boot(cmdline("txfs.root=" + b.toHex())).snapshot());
        assertEquals(
                b,
                selector.boot(cmdline("txfs.root=" + b.toHex().substring(0, 8))).snapshot());
        assertEquals(a, selector.boot(cmdline("txfs.root=boot/default")).snapshot());
        BootSelector.Decision d = selector.boot(cmdline("txfs.root=v2"));
        assertEquals(b, d.snapshot());
        assertEquals(BootSelector.Rule.ROOT, d.rule());
        assertTrue(d.fallbacks().isEmpty());
        assertEquals(3, selector.tries().orElseThrow().left(), "explicit roots use no try");
        assertEquals(Optional.of(b), store.find(BootSelector.BOOTED));
    }

    @Test
    void decide_bogusRoot_fallsBackToLastGood_thenDefault_withAMessage() {
        selector.setDefault(a, 3);
        BootSelector.Decision d = selector.decide(cmdline("txfs.root=nosuch"));
        assertEquals(a, d.snapshot());
        assertEquals(BootSelector.Rule.DEFAULT, d.rule());
        assertTrue(
                d.fallbacks().get(0).contains("txfs.root=nosuch names no ref"),
                d.fallbacks().toString());
        selector.markGood(Optional.of(b));
        d = selector.decide(cmdline("txfs.root=nosuch"));
        assertEquals(b, d.snapshot());
        assertEquals(BootSelector.Rule.LAST_GOOD, d.rule());
        assertTrue(d.fallbacks().get(0).contains("falling back to boot/last-good " + b.shortHex()));
    }

    @Test
    void decide_tooShortPrefix_fallsBack() {
        selector.setDefault(a, 1);
        // a prefix under 4 digits names nothing; the message says why
        BootSelector.Decision d =
                selector.decide(cmdline("txfs.root=" + a.toHex().substring(0, 2)));
        assertEquals(a, d.snapshot());
        assertTrue(d.why().contains("is not usable: snapshot id prefix"), d.why());
    }

    @Test
    void decide_ambiguousPrefix_fallsBack_sayingHowManyMatch() {
        selector.setDefault(a, 1);
        // record snapshots until two share a 4-digit prefix (birthday bound: a few hundred)
        java.util.Map<String, ObjectId> seen = new java.util.HashMap<>();
        String shared = null;
        ObjectId root = Snapshots.load(store, a).root();
        for (int i = 0; shared == null; i++) {
            ObjectId id = Snapshots.record(store, "many", root, "t", "s" + i, () -> 3L);
            String p = id.toHex().substring(0, 4);
            if (seen.putIfAbsent(p, id) != null) {
                shared = p;
            }
        }
        BootSelector.Decision d = selector.decide(cmdline("txfs.root=" + shared));
        assertEquals(a, d.snapshot());
        assertTrue(d.why().matches("txfs.root=" + shared + " is ambiguous \\([0-9]+ snapshots match\\)"), d.why());
    }

    @Test
    void boot_withoutRoot_usesOneTryPerBoot_thenFallsBackToLastGood() {
        selector.markGood(Optional.of(b));
        selector.setDefault(a, 2);
        BootSelector.Decision first = selector.boot(cmdline("quiet"));
        assertEquals(a, first.snapshot());
        assertTrue(first.usesTry());
        assertTrue(first.why().contains("try 1 of 2"), first.why());
        assertEquals(a, selector.boot(cmdline("quiet")).snapshot());
        assertEquals(0, selector.tries().orElseThrow().left());
        BootSelector.Decision third = selector.boot(cmdline("quiet"));
        assertEquals(b, third.snapshot());
        assertEquals(BootSelector.Rule.LAST_GOOD, third.rule());
        assertFalse(third.usesTry());
        assertTrue(
                third.fallbacks().get(0).contains("used all 2 tries"),
                third.fallbacks().toString());
        // marking the fallback boot good leaves the failed default's counter alone
        assertEquals(b, selector.markGood(Optional.empty()));
        assertEquals(b, selector.boot(cmdline("quiet")).snapshot());
    }

    @Test
    void decide_dryRun_changesNothing() {
        selector.setDefault(a, 2);
        selector.decide(cmdline(""));
        selector.decide(cmdline(""));
        assertEquals(2, selector.tries().orElseThrow().left());
        assertEquals(Optional.empty(), store.find(BootSelector.BOOTED));
    }

    @Test
    void markGood_ofTheBootedDefault_endsItsAssessment() {
        selector.setDefault(a, 1);
        selector.boot(cmdline(""));
        assertEquals(a, selector.markGood(Optional.empty()));
        assertEquals(Optional.empty(), selector.tries());
        assertEquals(Optional.of(a), store.find(BootSelector.LAST_GOOD));
        for (int i = 0; i < 3; i++) {
            BootSelector.Decision d = selector.boot(cmdline(""));
            assertEquals(a, d.snapshot());
            assertFalse(d.usesTry());
        }
    }

    @Test
    void setDefault_again_restartsTheCount_andAForeignCounterIsIgnored() {
        selector.setDefault(a, 1);
        selector.boot(cmdline(""));
        selector.setDefault(a, 2);
        assertEquals(2, selector.tries().orElseThrow().left());
        // boot/default moved by other means: the counter names another snapshot and does not count
        assertTrue(store.compareAndSet(BootSelector.DEFAULT, a, b));
        BootSelector.Decision d = selector.boot(cmdline(""));
        assertEquals(b, d.snapshot());
        assertFalse(d.usesTry());
        assertThrows(IllegalArgumentException.class, () -> selector.setDefault(a, 0));
    }

    @Test
    void decide_withNothingToBoot_throws() {
        assertThrows(BootSelector.NothingToBootException.class, () -> selector.decide(cmdline("")));
        assertThrows(BootSelector.NothingToBootException.class, () -> selector.decide(cmdline("txfs.root=zz")));
        assertThrows(Snapshots.NotFoundException.class, () -> selector.markGood(Optional.empty()));
    }

    @Test
    void boot_concurrently_neverUsesTheSameTryTwice() throws Exception {
        selector.setDefault(a, 1000);
        int threads = 4;
        int each = 50;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        selector.boot(cmdline(""));
                    }
                }));
            }
            for (var f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1000 - threads * each, selector.tries().orElseThrow().left());
    }

    /** A snapshot of its own root: a top directory holding {@code etc/} (returns its id; {@link #top} its top tree). */
    private ObjectId snapshotWithEtc(String message) {
        ObjectId root;
        try (ObjectWriter w = store.newWriter()) {
            TreeRef etc = Directories.write(
                    w,
                    List.of(TreeEntry.builder("hostname", EntryKind.SYMLINK)
                            .symlinkTarget(message.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                            .build()));
            TreeRef dir = Directories.write(
                    w,
                    List.of(TreeEntry.builder("etc", EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(etc)
                            .build()));
            top = dir.id();
            etcTree = etc.id();
            root = HardLinks.writeRoot(
                    w,
                    TreeEntry.builder("", EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(dir)
                            .build(),
                    List.of());
        }
        return Snapshots.record(store, "other", root, "t", message, () -> 3L);
    }

    private ObjectId top;
    private ObjectId etcTree;

    /**
     * Regression (issue 14, finding 14): a try counter that could not be read was treated as "no
     * assessment", so a default that never booted well was trusted forever (fail open).
     */
    @Test
    void boot_whenTryCounterIsGarbled_countsNoTriesLeft_andFallsBackToLastGood() {
        selector.markGood(Optional.of(b));
        selector.setDefault(a, 3);
        byte[] raw = store.findValue(BootSelector.TRIES).orElseThrow();
        for (String garbled : List.of("", "zz 1 3", a.toHex() + " one 3", a.toHex() + " 5 3", a.toHex() + " -1 3")) {
            byte[] cur = store.findValue(BootSelector.TRIES).orElseThrow();
            assertTrue(store.compareAndSetAll(
                    List.of(),
                    List.of(new dev.txfs.snapshot.RefStore.ValueUpdate(
                            BootSelector.TRIES, cur, garbled.getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
            BootSelector.Decision d = selector.boot(cmdline("quiet"));
            assertEquals(b, d.snapshot(), "counter '" + garbled + "'");
            assertEquals(BootSelector.Rule.LAST_GOOD, d.rule());
            assertTrue(
                    d.fallbacks().get(0).contains("try counter of boot/default"),
                    d.fallbacks().toString());
            assertTrue(selector.counterUnreadable());
        }
        // marking the default good ends its (unreadable) assessment
        assertEquals(a, selector.markGood(Optional.of(a)));
        assertFalse(selector.counterUnreadable());
        assertEquals(a, selector.boot(cmdline("quiet")).snapshot());
        assertTrue(raw.length > 0);
    }

    /**
     * Regression (issue 14, finding 14): a default whose objects are damaged was chosen, and the
     * boot panicked when the daemon could not load its root; it falls back to boot/last-good.
     */
    @Test
    void boot_whenDefaultIsDamaged_fallsBackToLastGood_usingNoTry() {
        selector.markGood(Optional.of(b));
        ObjectId c = snapshotWithEtc("damaged");
        selector.setDefault(c, 3);
        assertEquals(Optional.empty(), selector.damage(c));
        store.corrupt(etcTree, new byte[] {1, 2, 3});
        BootSelector.Decision d = selector.boot(cmdline("quiet"));
        assertEquals(b, d.snapshot());
        assertEquals(BootSelector.Rule.LAST_GOOD, d.rule());
        assertFalse(d.usesTry());
        assertTrue(
                d.fallbacks().get(0).contains("boot/default " + c.shortHex() + " is damaged (corrupt object"),
                d.fallbacks().toString());
        // an explicit txfs.root naming it falls back the same way
        assertEquals(b, selector.boot(cmdline("txfs.root=" + c.toHex())).snapshot());
        // a missing top tree is damage too; with no usable snapshot left, nothing boots
        store.remove(top);
        assertTrue(
                selector.damage(c).orElseThrow().contains("missing object"),
                selector.damage(c).toString());
        assertEquals(Optional.empty(), selector.damage(b));
    }

    @Test
    void decide_whenEverythingIsDamaged_throwsNamingEachReason() {
        ObjectId c = snapshotWithEtc("only");
        selector.setDefault(c, 3);
        selector.markGood(Optional.of(c));
        store.remove(top);
        var e = assertThrows(BootSelector.NothingToBootException.class, () -> selector.decide(cmdline("")));
        assertTrue(e.getMessage().contains("is damaged"), e.getMessage());
    }
}
