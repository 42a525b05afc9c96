package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TxfsException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the snapshot a machine boots into, and keeps the boot assessment (try counting).
 *
 * <p>Implementation notes. The state is three refs and one value, all in the store:
 *
 * <ul>
 *   <li>{@code boot/default}: what a boot without {@code txfs.root} selects;
 *   <li>{@code boot/last-good}: the last snapshot a boot was marked good on;
 *   <li>{@code boot/booted}: what the last (non-dry-run) resolve chose, so that {@code mark-good}
 *       in the running system knows what it runs on, and gc keeps it;
 *   <li>the value {@value #TRIES} = {@code "<default id hex> <left> <total>"}: the default under
 *       assessment and how many unmarked boots it has left. It counts only while it names the
 *       current {@code boot/default}; a default it does not name is trusted (was marked good, or
 *       was set without assessment). A value that cannot be read fails closed: the default counts
 *       as having no tries left.
 * </ul>
 *
 * <p>A snapshot is chosen only if it passes {@link #damage}; a damaged choice falls back like a
 * name that names nothing.
 *
 * <p>Rules, in order: an explicit {@code txfs.root} that names a snapshot wins and uses no try.
 * Without {@code txfs.root}, {@code boot/default} is chosen, using one try if under assessment;
 * with no tries left it falls back to {@code boot/last-good}. A {@code txfs.root} that names nothing
 * (or an ambiguous prefix) falls back to {@code boot/last-good}, then {@code boot/default} (no try
 * used). Every update is one compare-and-set of refs and the value together: two concurrent
 * resolves cannot both use the same try, and a crash leaves the old state or the new one.
 *
 * <p>{@code mark-good} moves {@code boot/last-good} to the booted snapshot and, when that is the
 * default under assessment, ends its assessment. Marking good a fallback boot leaves the failed
 * default's counter alone, so the next boot does not retry it.
 */
final class BootSelector {
    static final String DEFAULT = "boot/default";
    static final String LAST_GOOD = "boot/last-good";
    static final String BOOTED = "boot/booted";
    static final String TRIES = "boot/tries";
    static final int DEFAULT_TRIES = 3;
    static final int MAX_TRIES = 1000;
    private static final int CAS_ATTEMPTS = 100;

    private final ObjectStore store;
    private final RefStore refs;

    BootSelector(ObjectStore store) {
        this.store = store;
        this.refs = store.refs();
    }

    /** The assessment of a default: {@code left} of {@code total} unmarked boots remain. */
    record Tries(ObjectId snapshot, int left, int total) {
        byte[] encode() {
            return (snapshot.toHex() + " " + left + " " + total).getBytes(UTF_8);
        }

        /** The counter, or empty when {@code raw} is not one (the caller decides what that means). */
        static Optional<Tries> decode(byte[] raw) {
            String[] f = new String(raw, UTF_8).trim().split(" ", -1);
            try {
                if (f.length != 3) {
                    return Optional.empty();
                }
                Tries t = new Tries(ObjectId.parse(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]));
                boolean sane = t.total() >= 1 && t.total() <= MAX_TRIES && t.left() >= 0 && t.left() <= t.total();
                return sane ? Optional.of(t) : Optional.empty();
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }
    }

    /** Which rule chose the snapshot. */
    enum Rule {
        ROOT("txfs.root"),
        DEFAULT(BootSelector.DEFAULT),
        LAST_GOOD(BootSelector.LAST_GOOD);

        final String label;

        Rule(String label) {
            this.label = label;
        }
    }

    /**
     * A decision: the snapshot, the rule that chose it, why (one line), the fallback messages for
     * the console (empty when nothing fell back), and the counter as it is to be after this boot
     * ({@code next}; equal to {@code before} when the boot uses no try).
     */
    record Decision(
            ObjectId snapshot,
            Rule rule,
            String why,
            List<String> fallbacks,
            Optional<Tries> before,
            Optional<Tries> next) {
        boolean usesTry() {
            return !before.equals(next);
        }
    }

    /** Nothing to boot: no usable {@code txfs.root}, no {@code boot/last-good}, no {@code boot/default}. */
    static final class NothingToBootException extends TxfsException {
        NothingToBootException(String message) {
            super(message);
        }
    }

    Optional<Tries> tries() {
        return refs.findValue(TRIES).flatMap(Tries::decode);
    }

    /** Whether a counter is stored that cannot be read (boots then fall back: it fails closed). */
    boolean counterUnreadable() {
        return refs.findValue(TRIES).map(raw -> Tries.decode(raw).isEmpty()).orElse(false);
    }

    /** The boot state as read at one moment; updates compare against all of it. */
    private record State(Optional<ObjectId> dflt, Optional<ObjectId> lastGood, Optional<ObjectId> booted, byte[] raw) {
        /**
         * The counter, if it belongs to the current default. One that cannot be read fails closed:
         * it counts as the default's, with no tries left.
         */
        Optional<Tries> assessment() {
            if (garbled()) {
                return dflt.map(d -> new Tries(d, 0, 0));
            }
            return Optional.ofNullable(raw)
                    .flatMap(Tries::decode)
                    .filter(t -> dflt.isPresent() && t.snapshot().equals(dflt.get()));
        }

        boolean garbled() {
            return raw != null && Tries.decode(raw).isEmpty();
        }

        List<RefStore.Update> unchanged() {
            return List.of(
                    new RefStore.Update(DEFAULT, dflt.orElse(null), dflt.orElse(null)),
                    new RefStore.Update(LAST_GOOD, lastGood.orElse(null), lastGood.orElse(null)));
        }
    }

    private State read() {
        return new State(
                refs.find(DEFAULT),
                refs.find(LAST_GOOD),
                refs.find(BOOTED),
                refs.findValue(TRIES).orElse(null));
    }

    /** What a boot with this command line would choose; changes nothing. */
    Decision decide(KernelCmdline cmdline) {
        return decide(cmdline, read());
    }

    private Decision decide(KernelCmdline cmdline, State state) {
        Optional<ObjectId> dflt = state.dflt();
        Optional<ObjectId> lastGood = state.lastGood();
        Optional<Tries> tries = state.assessment();
        List<String> fallbacks = new ArrayList<>();
        Optional<String> root = cmdline.find(KernelCmdline.ROOT);
        if (root.isPresent()) {
            String spec = root.get();
            String problem;
            try {
                ObjectId id = Snapshots.resolve(store, spec);
                Optional<String> damage = damage(id);
                if (damage.isEmpty()) {
                    return new Decision(
                            id, Rule.ROOT, "txfs.root=" + spec + " names " + id.shortHex(), fallbacks, tries, tries);
                }
                problem = "names " + id.shortHex() + ", which is damaged (" + damage.get() + ")";
            } catch (Snapshots.NotFoundException e) {
                problem = "names no ref, tag or snapshot";
            } catch (Snapshots.AmbiguousPrefixException e) {
                problem = "is ambiguous (" + e.candidates().size() + " snapshots match)";
            } catch (TxfsException e) {
                if (Errors.exitCodeOf(e) == ExitCode.STORE) {
                    throw e;
                }
                problem = "is not usable: " + e.getMessage();
            }
            String why = "txfs.root=" + spec + " " + problem;
            return fallBack(why, state, Optional.empty(), fallbacks, tries);
        }
        if (dflt.isEmpty()) {
            if (lastGood.isPresent()) {
                return fallBack("no txfs.root and no " + DEFAULT, state, Optional.empty(), fallbacks, tries);
            }
            throw new NothingToBootException("no txfs.root on the command line, and neither " + DEFAULT + " nor "
                    + LAST_GOOD + " exists (txfs boot set-default ID)");
        }
        ObjectId d = dflt.get();
        Optional<String> damage = damage(d);
        if (damage.isPresent()) {
            String why = DEFAULT + " " + d.shortHex() + " is damaged (" + damage.get() + ")";
            return fallBack(why, state, Optional.of(d), fallbacks, tries);
        }
        if (state.garbled()) {
            String why = "the try counter of " + DEFAULT + " " + d.shortHex() + " is unreadable, counted as no tries"
                    + " left";
            if (lastGood.isPresent() && !lastGood.get().equals(d)) {
                return fallBack(why, state, Optional.of(d), fallbacks, tries);
            }
            fallbacks.add(why + ", and there is no other " + LAST_GOOD + ": booting it anyway");
            return new Decision(d, Rule.DEFAULT, why, fallbacks, tries, tries);
        }
        if (tries.isEmpty()) {
            return new Decision(
                    d,
                    Rule.DEFAULT,
                    "no txfs.root: " + DEFAULT + " " + d.shortHex() + " (marked good or not under assessment)",
                    fallbacks,
                    tries,
                    tries);
        }
        Tries t = tries.get();
        if (t.left() > 0) {
            int n = t.total() - t.left() + 1;
            Optional<Tries> next = Optional.of(new Tries(d, t.left() - 1, t.total()));
            return new Decision(
                    d,
                    Rule.DEFAULT,
                    "no txfs.root: " + DEFAULT + " " + d.shortHex() + ", try " + n + " of " + t.total()
                            + " (not yet marked good)",
                    fallbacks,
                    tries,
                    next);
        }
        String why = DEFAULT + " " + d.shortHex() + " used all " + t.total() + " tries without being marked good";
        if (lastGood.isPresent() && damage(lastGood.get()).isEmpty()) {
            fallbacks.add(why + ": falling back to " + LAST_GOOD + " "
                    + lastGood.get().shortHex());
            return new Decision(lastGood.get(), Rule.LAST_GOOD, why, fallbacks, tries, tries);
        }
        fallbacks.add(why + ", and there is no usable " + LAST_GOOD + ": booting it anyway");
        return new Decision(d, Rule.DEFAULT, why, fallbacks, tries, tries);
    }

    /**
     * After {@code why} ruled out the first choice: {@code boot/last-good}, then {@code
     * boot/default} (unless {@code tried} already, or damaged), using no try.
     */
    private Decision fallBack(
            String why, State state, Optional<ObjectId> tried, List<String> fallbacks, Optional<Tries> tries) {
        String reasons = why;
        if (state.lastGood().isPresent()) {
            ObjectId lg = state.lastGood().get();
            Optional<String> damage = damage(lg);
            if (damage.isEmpty()) {
                fallbacks.add(why + ": falling back to " + LAST_GOOD + " " + lg.shortHex());
                return new Decision(lg, Rule.LAST_GOOD, why, fallbacks, tries, tries);
            }
            reasons += "; " + LAST_GOOD + " " + lg.shortHex() + " is damaged (" + damage.get() + ")";
        } else {
            reasons += " and there is no " + LAST_GOOD;
        }
        if (state.dflt().isPresent() && !state.dflt().equals(tried)) {
            ObjectId d = state.dflt().get();
            Optional<String> damage = damage(d);
            if (damage.isEmpty()) {
                fallbacks.add(reasons + ": falling back to " + DEFAULT + " " + d.shortHex());
                return new Decision(d, Rule.DEFAULT, why, fallbacks, tries, tries);
            }
            reasons += "; " + DEFAULT + " " + d.shortHex() + " is damaged (" + damage.get() + ")";
        } else if (state.dflt().isEmpty()) {
            reasons += ", and no " + DEFAULT + " exists";
        }
        throw new NothingToBootException(reasons + ": nothing left to boot");
    }

    /**
     * Why {@code snapshot} cannot be booted, or empty if it can as far as checked here: the
     * snapshot object, its {@code Root}, every node of the top directory and of each directory in
     * it ({@code /etc}, {@code /usr}...) are present, hash to their ids and decode. File contents
     * and deeper directories are not read (that would read the whole root at every boot).
     */
    Optional<String> damage(ObjectId snapshot) {
        try {
            Snapshot s = Snapshot.decode(checked(snapshot));
            Root root = Root.decode(checked(s.root()));
            ObjectId top = root.dir().tree();
            Directories.forEachNodeId(store, top, this::checked);
            for (TreeEntry e : Directories.list(store, top)) {
                if (e.kind() == EntryKind.DIRECTORY) {
                    Directories.forEachNodeId(store, e.tree(), this::checked);
                    Directories.list(store, e.tree());
                }
            }
            return Optional.empty();
        } catch (ObjectStore.StoreFormatException | ObjectStore.StoreFullException e) {
            throw e; // the store itself failed, not this snapshot
        } catch (TxfsException | IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException e) {
            return Optional.of(Errors.oneLine(String.valueOf(e.getMessage())));
        }
    }

    /** The bytes of {@code id}, re-hashed. */
    private byte[] checked(ObjectId id) {
        byte[] raw = store.get(id);
        ObjectId actual = ObjectId.hash(raw);
        if (!actual.equals(id)) {
            throw new ObjectStore.CorruptObjectException(id, actual);
        }
        return raw;
    }

    /**
     * Decides and records the boot in one atomic step: uses the try, sets {@code boot/booted}.
     * Retries the decision if another process changed the boot state meanwhile.
     */
    Decision boot(KernelCmdline cmdline) {
        for (int i = 0; i < CAS_ATTEMPTS; i++) {
            State state = read();
            Decision d = decide(cmdline, state);
            List<RefStore.Update> updates = new ArrayList<>(state.unchanged());
            updates.add(new RefStore.Update(BOOTED, state.booted().orElse(null), d.snapshot()));
            byte[] next = d.usesTry() ? d.next().get().encode() : state.raw();
            if (refs.compareAndSetAll(updates, List.of(new RefStore.ValueUpdate(TRIES, state.raw(), next)))) {
                return d;
            }
        }
        throw new TxfsException("the boot state keeps changing under this command; try again");
    }

    /** Makes {@code id} the default with {@code tries} unmarked boots before it falls back. */
    void setDefault(ObjectId id, int tries) {
        if (tries < 1 || tries > MAX_TRIES) {
            throw new IllegalArgumentException("--tries must be between 1 and " + MAX_TRIES + ", not " + tries);
        }
        for (int i = 0; i < CAS_ATTEMPTS; i++) {
            Optional<ObjectId> cur = refs.find(DEFAULT);
            Optional<byte[]> t = refs.findValue(TRIES);
            if (refs.compareAndSetAll(
                    List.of(new RefStore.Update(DEFAULT, cur.orElse(null), id)),
                    List.of(new RefStore.ValueUpdate(TRIES, t.orElse(null), new Tries(id, tries, tries).encode())))) {
                return;
            }
        }
        throw new TxfsException("the boot state keeps changing under this command; try again");
    }

    /**
     * Marks {@code booted} (else what {@code boot/booted} names) good: {@code boot/last-good} moves
     * to it, and if it is the default under assessment, the assessment ends. Returns the snapshot.
     */
    ObjectId markGood(Optional<ObjectId> booted) {
        for (int i = 0; i < CAS_ATTEMPTS; i++) {
            Optional<ObjectId> b = booted.isPresent() ? booted : refs.find(BOOTED);
            if (b.isEmpty()) {
                throw new Snapshots.NotFoundException(BOOTED + " (no boot was recorded: give the snapshot)");
            }
            Optional<ObjectId> last = refs.find(LAST_GOOD);
            Optional<byte[]> raw = refs.findValue(TRIES);
            Optional<Tries> t = raw.flatMap(Tries::decode);
            // an unreadable counter ends too when the default it would count is marked good
            boolean ends = t.isPresent()
                    ? t.get().snapshot().equals(b.get())
                    : raw.isPresent() && refs.find(DEFAULT).equals(b);
            List<RefStore.ValueUpdate> values =
                    ends ? List.of(new RefStore.ValueUpdate(TRIES, raw.get(), null)) : List.of();
            if (refs.compareAndSetAll(List.of(new RefStore.Update(LAST_GOOD, last.orElse(null), b.get())), values)) {
                return b.get();
            }
        }
        throw new TxfsException("the boot state keeps changing under this command; try again");
    }
}
