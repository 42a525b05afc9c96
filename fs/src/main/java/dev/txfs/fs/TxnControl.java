package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.fs.FsOps.Attr;
import dev.txfs.fs.FsOps.Caller;
import dev.txfs.fs.FsOps.DirEntry;
import dev.txfs.fs.FsOps.Entry;
import dev.txfs.journal.Change;
import dev.txfs.journal.Diff;
import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TxfsException;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import dev.txfs.txn.proc.Membership;
import dev.txfs.txn.proc.ProcInfo;
import dev.txfs.txn.proc.ProcessRef;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * The transaction control channel: the file {@code /.txfs/ctl} inside the mount. A client opens it,
 * writes one request line and reads the reply from offset 0. The kernel tells who wrote it (uid and
 * thread id in the FUSE request header), so every request is authenticated without a socket or a
 * secret: a process acts only on the transaction it is in, only if that transaction's root process
 * is itself or one of its ancestors, and only as the transaction's user (or root).
 *
 * <p>Requests (fields separated by tabs, free text percent-encoded, one line written in one
 * write(2), at most 64 KiB; brackets mark an optional last field):
 * <pre>
 *   begin   ROOTPID MESSAGE [BASE]   ROOTPID 0 means the writer's parent process; BASE a snapshot
 *   commit  MESSAGE [TXN]
 *   abort   [TXN]
 *   status  text|json [TXN]
 *   list    text|json
 *   finish  commit|keep|discard MESSAGE NAME   ends the writer's transaction (txfs run); JSON reply
 *   kept    commit|drop NAME MESSAGE           a run kept as ref runs/NAME: merge it, or drop it
 * </pre>
 *
 * <p>{@code BASE} (a snapshot id, prefix, ref or tag) begins the transaction on that snapshot
 * instead of the live state; its commit merges what it changed relative to it. {@code finish}
 * answers a JSON summary (the output tree, the changes against the base, what became of it); a
 * {@code commit} that conflicts keeps the run instead (action {@code kept}, the conflicting paths
 * listed) so that nothing is lost. {@code keep} records the tree as a snapshot whose parent is the
 * base, under ref {@code runs/NAME} (NAME empty: the transaction id), leaving the live tree and
 * {@code HEAD} alone. {@code kept commit} merges such a run as its commit would have, then deletes
 * the ref; {@code kept drop} deletes it. Only the run's user (its snapshot's author) or root may.
 * A transaction that changed nothing is dropped whatever was asked (action {@code unchanged}).
 *
 * <p>Without {@code TXN} a request acts on the transaction the writer is in (checked as above). With
 * it (the transaction id, percent-encoded like the free text; {@code txfs commit|abort|status --txn
 * ID}), root names any open transaction, its own or another user's, wherever it runs; a writer
 * that is not root gets exit code 7 whatever the id, and an id no open transaction has gets 3.
 *
 * <p>A request that does not parse, or a write that is not one whole line, fails the write with
 * EINVAL and changes nothing: a request never spans writes, so it runs as exactly the process
 * that wrote it. A parsed
 * request's reply is {@code ok\n<payload>} or {@code error <exit code>\n<message>}; exit codes are
 * those of the txfs command (2 bad input, 3 not found, 6 conflict, 7 not permitted, 1 other failures).
 * A {@code commit} or {@code kept commit} that conflicts answers {@code error 6} with the summary
 * line, then the transaction id (or {@code runs/NAME}), then one conflicting path per line.
 *
 * <p>Nesting: a {@code begin} from inside a transaction fails (exit code 1) with a message saying
 * so: nested transactions are not supported. Who may begin where, and how many transactions a user
 * may have open: see the {@code begin} method.
 */
public final class TxnControl {
    private static final Logger LOG = Logger.getLogger(TxnControl.class.getName());
    static final int MAX_REQUEST = 64 * 1024;
    public static final int EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOT_FOUND = 3, EXIT_CONFLICT = 6, EXIT_DENIED = 7;
    /** The ref namespace of runs kept by {@code txfs run --keep}. */
    public static final String RUNS = "runs/";

    /** Open transactions a user other than root may have at once, unless {@link #setUserLimit}. */
    public static final int DEFAULT_USER_LIMIT = 16;

    private final LiveFs fs;
    private final LiveTree live;
    private final Membership membership;
    private final LongSupplier clock;
    private final SecureRandom random = new SecureRandom();
    private volatile int userLimit = DEFAULT_USER_LIMIT;

    /**
     * Transactions whose view is open but whose root process is not yet moved into them: they have
     * no members yet, and {@link #reap} must not take them for abandoned.
     */
    private final java.util.Set<String> starting = java.util.concurrent.ConcurrentHashMap.newKeySet();

    TxnControl(LiveFs fs, LiveTree live, Membership membership, LongSupplier clock) {
        this.fs = fs;
        this.live = live;
        this.membership = membership;
        this.clock = clock;
    }

    /** One open handle of the control file: the reply to its last request. */
    static final class Exchange {
        /** Who opened the control file: every write must come from this uid (see {@link #write}). */
        private final long openerUid;

        private byte[] reply = new byte[0];

        Exchange(long openerUid) {
            this.openerUid = openerUid;
        }

        int read(long offset, ByteBuffer dst) {
            if (offset >= reply.length) {
                return 0;
            }
            int n = (int) Math.min(dst.remaining(), reply.length - offset);
            dst.put(reply, (int) offset, n);
            return n;
        }
    }

    /** A request that failed with a txfs exit code; its message is the reply's. */
    public static final class Failure extends Exception {
        final int exit;

        public Failure(int exit, String message) {
            super(message, null, false, false);
            this.exit = exit;
        }
    }

    Attr dirAttr() {
        return new Attr(LiveFs.CTL_DIR, 0, 0, 0, 0, 0, 040555, 2, 0, 0, 0);
    }

    Attr fileAttr() {
        return new Attr(LiveFs.CTL, 0, 0, 0, 0, 0, 0100666, 1, 0, 0, 0);
    }

    Entry lookup(byte[] name) throws IOException {
        if (new String(name, UTF_8).equals("ctl")) {
            return new Entry(LiveFs.CTL, 0, fileAttr(), LiveFs.VALID_NS, LiveFs.VALID_NS);
        }
        throw new java.nio.file.NoSuchFileException(new String(name, UTF_8));
    }

    List<DirEntry> listing() {
        return List.of(
                new DirEntry(".".getBytes(UTF_8), LiveFs.CTL_DIR, 040555, 1, null),
                new DirEntry("..".getBytes(UTF_8), FsOps.ROOT, 040755, 2, null),
                new DirEntry("ctl".getBytes(UTF_8), LiveFs.CTL, 0100666, 3, null),
                new DirEntry(SnapshotsFs.NAME, SnapshotsFs.DIR, 040555, 4, null));
    }

    /**
     * A write to the control file: one write(2) is one whole request, a line ending in its only
     * {@code '\n'}; it runs as the writer and its reply is kept for reading.
     *
     * <p>Why one write (finding 7 of issue 14): a request assembled from several writes ran as
     * whoever wrote its last piece, so a process could write {@code "commit\t"} and let a
     * privileged program that shares the descriptor (a setuid binary's error message) finish the
     * line as root. A request is at most 64 KiB, far below the mount's max_write (1 MiB), so the
     * kernel hands every write(2) of one to the daemon whole, as one WRITE.
     *
     * <p>And the writer must be the user who opened the descriptor (EPERM otherwise): one write is
     * not enough on its own, since a setuid program writes whole lines too (getopt's "ARGV0:
     * invalid option" message, with an argv[0] of the caller's choosing, on a stderr the caller
     * opened on this file). A descriptor crosses processes (fork, setuid exec, SCM_RIGHTS); the
     * uid at open and the uid of each write, both from the kernel, must agree.
     */
    int write(Exchange ex, Caller c, ByteBuffer src) throws IOException {
        if (c.uid() != ex.openerUid) {
            // a descriptor opened by one user and handed to another's program (a setuid program's
            // stderr, say) must not carry that program's words as a request of its uid
            throw new FsException(
                    Kind.PERMISSION, "control file opened by uid " + ex.openerUid + " written by uid " + c.uid());
        }
        int len = src.remaining();
        if (len > MAX_REQUEST) {
            throw new FsException(Kind.INVALID, "control request longer than 64 KiB");
        }
        byte[] all = new byte[len];
        src.get(all);
        int nl = indexOf(all, (byte) '\n');
        if (nl != len - 1) {
            throw new FsException(
                    Kind.INVALID, "a control request is one line ending in a newline, written in one write(2)");
        }
        String line;
        try {
            line = UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(all, 0, len - 1))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new FsException(Kind.INVALID, "control request is not UTF-8");
        }
        String[] f = line.split("\t", -1);
        Request r = parse(f);
        synchronized (ex) {
            String reply;
            try {
                reply = "ok\n" + run(r, c);
            } catch (Failure e) {
                reply = "error " + e.exit + "\n" + e.getMessage();
            } catch (RuntimeException e) {
                LOG.log(java.util.logging.Level.WARNING, "control request " + f[0] + " failed", e);
                reply = "error " + EXIT_FAILED + "\n" + f[0] + " failed: " + e;
            }
            ex.reply = (reply.endsWith("\n") ? reply : reply + "\n").getBytes(UTF_8);
            return len;
        }
    }

    private static int indexOf(byte[] b, byte x) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    /** A parsed request; {@code txn} is the transaction it names, or empty for the writer's own. */
    private record Request(String verb, long pid, String text, boolean json, String txn, String arg, long clampNs) {
        Request(String verb, long pid, String text, boolean json, String txn, String arg) {
            this(verb, pid, text, json, txn, arg, -1);
        }
    }

    /** The optional last field {@code TXN} at index {@code i}: the named transaction id, or "". */
    private static String txnField(String[] f, int i) {
        if (f.length <= i) {
            return "";
        }
        String id = URLDecoder.decode(f[i], UTF_8);
        if (id.isEmpty()) {
            throw new IllegalArgumentException();
        }
        return id;
    }

    private static Request parse(String[] f) throws FsException {
        try {
            return switch (f[0]) {
                case "begin" -> {
                    if (f.length != 3 && f.length != 4) {
                        throw new IllegalArgumentException();
                    }
                    long pid = Long.parseLong(f[1]);
                    if (pid < 0 || pid > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request("begin", pid, URLDecoder.decode(f[2], UTF_8), false, "", txnField(f, 3));
                }
                case "finish" -> {
                    if ((f.length != 4 && f.length != 5)
                            || !List.of("commit", "keep", "discard").contains(f[1])) {
                        throw new IllegalArgumentException();
                    }
                    long clamp = f.length == 5 ? Long.parseLong(f[4]) : -1;
                    if (f.length == 5 && clamp < 0) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request(
                            "finish",
                            0,
                            URLDecoder.decode(f[2], UTF_8),
                            false,
                            f[1],
                            URLDecoder.decode(f[3], UTF_8),
                            clamp);
                }
                case "kept" -> {
                    if (f.length != 4 || !List.of("commit", "drop").contains(f[1])) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request(
                            "kept", 0, URLDecoder.decode(f[3], UTF_8), false, f[1], URLDecoder.decode(f[2], UTF_8));
                }
                case "commit" -> {
                    if (f.length != 2 && f.length != 3) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request("commit", 0, URLDecoder.decode(f[1], UTF_8), false, txnField(f, 2), "");
                }
                case "abort" -> {
                    if (f.length != 1 && f.length != 2) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request("abort", 0, "", false, txnField(f, 1), "");
                }
                case "status", "list" -> {
                    int max = f[0].equals("status") ? 3 : 2;
                    if (f.length < 2 || f.length > max || !(f[1].equals("json") || f[1].equals("text"))) {
                        throw new IllegalArgumentException();
                    }
                    yield new Request(f[0], 0, "", f[1].equals("json"), txnField(f, 2), "");
                }
                default -> throw new IllegalArgumentException();
            };
        } catch (IllegalArgumentException e) {
            throw new FsException(Kind.INVALID, "malformed control request");
        }
    }

    /**
     * What an isolated mount ({@code txfs mount --isolated}) does for {@code txfs commit|abort|status
     * --mount DIR}: the whole mount is one transaction, owned by whoever mounted it.
     */
    public interface Isolated {
        /** Commits the mount's changes; the reply payload as for a transaction's commit. */
        String commit(long uid, String message) throws Failure, IOException;

        /** Drops the mount's changes since its base (or last commit); the reply payload. */
        String abort(long uid) throws Failure, IOException;

        /** The mount's base and changes, as text or JSON. */
        String status(long uid, boolean json) throws Failure, IOException;
    }

    private volatile Isolated isolated;

    /** Makes this control file answer for an isolated mount (see {@link Isolated}). */
    public void serveIsolated(Isolated handler) {
        this.isolated = handler;
    }

    private String run(Request r, Caller c) throws Failure, IOException {
        Isolated iso = isolated;
        if (iso != null) {
            return switch (r.verb()) {
                case "commit" -> iso.commit(c.uid(), r.text());
                case "abort" -> iso.abort(c.uid());
                case "status" -> iso.status(c.uid(), r.json());
                default ->
                    throw new Failure(
                            EXIT_FAILED,
                            "this is an isolated mount, itself one transaction: use txfs commit|abort|status --mount"
                                    + " on it, not " + r.verb());
            };
        }
        if (membership == null) {
            throw new Failure(EXIT_FAILED, "this mount does not take transactions");
        }
        return switch (r.verb()) {
            case "begin" -> begin(c, r.pid(), r.text(), r.arg());
            case "finish" -> finish(c, r.txn(), r.text(), r.arg(), r.clampNs());
            case "kept" -> kept(c, r.txn(), r.arg(), r.text());
            case "commit" -> commit(c, r.text(), r.txn());
            case "abort" -> abort(c, r.txn());
            case "status" -> status(c, r.json(), r.txn());
            case "list" -> list(c, r.json());
            default -> throw new IllegalStateException(r.verb());
        };
    }

    /**
     * Begins a transaction rooted at {@code rootPid} (0: the writer's parent), which must be the
     * writer or one of its ancestors. A user other than root may root a transaction only at a
     * process of its own (all four uids its own: real, effective, saved, fs), never takes in a
     * process of another user (the membership checks every process it would take in; finding 3
     * of issue 14), and may have at most {@link #userLimit()} transactions open. Root may do all
     * of this; the reply then lists, after the first line, the other users' processes it took in.
     */
    private String begin(Caller c, long rootPid, String message, String base) throws Failure, IOException {
        long client = ProcInfo.tgid(c.pid());
        long root = rootPid;
        if (root == 0) {
            root = ProcInfo.stat(client).map(ProcInfo.Stat::ppid).orElse(0L);
        } else if (!ProcInfo.isAncestor(root, client)) {
            throw new Failure(EXIT_DENIED, "process " + root + " is not the caller or one of its ancestors");
        }
        if (root <= 1) {
            throw new Failure(EXIT_FAILED, "cannot make pid " + root + " the root of a transaction");
        }
        boolean privileged = c.uid() == 0;
        if (!privileged) {
            long r = root;
            ProcInfo.Uids ids =
                    ProcInfo.uids(root).orElseThrow(() -> new Failure(EXIT_NOT_FOUND, "process " + r + " is gone"));
            if (!ids.allAre(c.uid())) {
                throw new Failure(
                        EXIT_DENIED,
                        "process " + root + " (" + ProcInfo.cmdline(root) + ") runs as " + ids + ": uid " + c.uid()
                                + " may root a transaction only at a process of its own");
            }
        }
        synchronized (fs.lock()) {
            Optional<LiveFs.View> in = current(c);
            if (in.isPresent()) {
                throw new Failure(
                        EXIT_FAILED,
                        "already in " + in.get().txn + " (root pid "
                                + in.get().txn.rootPid()
                                + "): nested transactions are not supported; commit or abort it first");
            }
            for (LiveFs.View v : fs.openViews().values()) {
                if (v.txn.rootPid() == root) {
                    throw new Failure(EXIT_FAILED, "process " + root + " is already the root of " + v.txn);
                }
            }
        }
        ProcessRef ref =
                ProcessRef.of(root).orElseThrow(() -> new Failure(EXIT_NOT_FOUND, "process " + rootPid + " is gone"));
        ObjectId baseSnapshot = base.isEmpty() ? null : resolve(base);
        String id = newId();
        Transaction t;
        synchronized (fs.lock()) {
            checkUserLimitWithLock(c.uid());
            t = live.begin(id, baseSnapshot, credentials(c), root, ProcInfo.cmdline(root), message);
            starting.add(id);
            fs.addView(t);
        }
        List<Membership.Foreign> taken;
        try {
            taken = membership.add(id, ref, c.uid(), privileged);
        } catch (IOException e) {
            synchronized (fs.lock()) {
                live.abort(t);
                fs.closeView(fs.openViews().get(id), null);
            }
            throw new Failure(
                    e instanceof Membership.ForeignProcessException ? EXIT_DENIED : EXIT_FAILED,
                    "cannot start a transaction: " + e.getMessage());
        } finally {
            starting.remove(id);
        }
        StringBuilder reply = new StringBuilder(id)
                .append('\t')
                .append(membership.mode().name().toLowerCase().replace('_', '-'))
                .append('\n');
        for (Membership.Foreign f : taken) {
            reply.append("took in another user's ").append(f).append('\n');
        }
        return reply.toString();
    }

    /**
     * Sets how many transactions one user other than root may have open at once (root has no
     * limit): each holds a view, its tree's changed nodes in memory and a cgroup, so one user must
     * not be able to open them without end (finding 5 of issue 14).
     */
    public void setUserLimit(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the per-user transaction limit must be at least 1: " + limit);
        }
        this.userLimit = limit;
    }

    public int userLimit() {
        return userLimit;
    }

    /** Fails with exit 7 if {@code uid} (not root) has its most transactions open. Needs the lock. */
    private void checkUserLimitWithLock(long uid) throws Failure {
        if (uid == 0) {
            return;
        }
        int limit = userLimit;
        long open =
                fs.openViews().values().stream().filter(v -> v.txn.uid() == uid).count();
        if (open >= limit) {
            throw new Failure(
                    EXIT_DENIED,
                    "uid " + uid + " has " + open + " open transactions, the most one user may have on this mount ("
                            + limit + "); commit or abort one first");
        }
    }

    /** A snapshot named by a user (id, prefix, ref, tag), or a Failure with the txfs exit code. */
    private ObjectId resolve(String spec) throws Failure {
        try {
            return Snapshots.resolve(live.store(), spec);
        } catch (Snapshots.NotFoundException e) {
            throw new Failure(EXIT_NOT_FOUND, e.getMessage());
        } catch (TxfsException e) {
            throw new Failure(EXIT_USAGE, e.getMessage());
        }
    }

    /**
     * Ends the caller's own transaction as {@code txfs run} asked ({@code commit}, {@code keep} or
     * {@code discard}) and answers a JSON summary: the transaction, its base, its output tree, the
     * changes against the base, the action taken, and the snapshot and ref it made; then the same
     * for people, in lines. A commit that conflicts keeps the run (nothing is lost) and lists the
     * conflicts.
     */
    private String finish(Caller c, String mode, String message, String name, long clampNs)
            throws Failure, IOException {
        String ref = RUNS + (name.isEmpty() ? "" : name);
        LiveFs.View v;
        Json w = new Json().beginObject();
        StringBuilder text = new StringBuilder();
        String action;
        synchronized (fs.lock()) {
            v = own(c);
        }
        fs.writeBackTransactionPages(v); // the kept or committed tree holds what mappings wrote
        synchronized (fs.lock()) {
            v = own(c);
            Transaction t = v.txn;
            if (name.isEmpty()) {
                ref = RUNS + t.id();
            }
            checkRunRef(ref);
            if (!mode.equals("discard") && live.store().refs().find(ref).isPresent()) {
                throw new Failure(EXIT_USAGE, "ref " + ref + " exists: choose another name or drop that run first");
            }
            if (clampNs >= 0) {
                clampMtimes(v, clampNs);
            }
            Summary s = summary(v);
            ObjectId tree = v.tree.flush();
            w.field("txn", t.id())
                    .field("base", t.baseSnapshot().toHex())
                    .field("tree", tree.toHex())
                    .field("bytes", s.bytes());
            writeChanges(w, s.changes());
            String msg = !message.isEmpty() ? message : !t.message().isEmpty() ? t.message() : "txfs run";
            List<String> conflicts = List.of();
            List<String> denied = List.of();
            ObjectId snap = null;
            action = s.changes().isEmpty() ? "unchanged" : mode;
            if (action.equals("unchanged")) {
                live.abort(t);
                fs.closeView(v, null);
            } else if (mode.equals("commit")) {
                try {
                    LiveTree.CommitResult r = live.commit(t, userName(t.uid()), msg, check(t.creds(), t.startedNs()));
                    if (r.conflicted()) {
                        conflicts = r.conflicts();
                        action = "keep";
                    } else {
                        snap = r.snapshot();
                        fs.closeView(v, r);
                    }
                } catch (LiveTree.DeniedException e) {
                    denied = e.paths();
                    action = "keep"; // as on a conflict: nothing is lost
                }
            }
            if (action.equals("keep")) {
                snap = live.keep(t, ref, userName(t.uid()), msg);
                fs.closeView(v, null);
            } else if (action.equals("discard")) {
                live.abort(t);
                fs.closeView(v, null);
            }
            w.field(
                    "action",
                    switch (action) {
                        case "commit" -> "committed";
                        case "keep" -> "kept";
                        case "discard" -> "discarded";
                        default -> action;
                    });
            if (snap != null) {
                w.field("snapshot", snap.toHex());
            } else {
                w.name("snapshot").nullValue();
            }
            if (action.equals("keep")) {
                w.field("ref", ref);
            }
            w.name("conflicts").beginArray();
            conflicts.forEach(w::value);
            w.endArray();
            w.name("denied").beginArray();
            denied.forEach(w::value);
            w.endArray();
            text.append(s.changes().size())
                    .append(s.changes().size() == 1 ? " change" : " changes")
                    .append(" on base ")
                    .append(t.baseSnapshot().shortHex())
                    .append(", output tree ")
                    .append(tree.shortHex())
                    .append('\n');
            s.changes().stream().limit(LISTED).forEach(ch -> text.append(changeLine(ch)));
            if (s.changes().size() > LISTED) {
                text.append("  ... and ").append(s.changes().size() - LISTED).append(" more\n");
            }
            conflicts.forEach(p -> text.append("conflict: ").append(p).append('\n'));
            denied.forEach(p -> text.append("permission denied: ").append(p).append('\n'));
            text.append(
                    switch (action) {
                        case "commit" -> "committed as snapshot " + snap.toHex();
                        case "keep" ->
                            (!denied.isEmpty()
                                            ? "not committed: permission denied in the live tree; "
                                            : conflicts.isEmpty()
                                                    ? ""
                                                    : "not committed: conflicts with the live tree; ")
                                    + "kept as " + ref + " (snapshot " + snap.shortHex() + "): see txfs diff "
                                    + t.baseSnapshot().shortHex() + " " + ref + "; txfs commit --run "
                                    + ref.substring(RUNS.length()) + " or txfs abort --run "
                                    + ref.substring(RUNS.length());
                        case "discard" -> "discarded";
                        default -> "nothing changed: nothing to commit or keep";
                    });
        }
        membership.remove(v.txn.id());
        return w.endObject() + "\n" + text + "\n";
    }

    /** A commit's reply payload: {@code SNAPSHOT<TAB>CHANGES<TAB>MICROSECONDS} and a newline. */
    public static String commitReply(ObjectId snapshot, LiveTree.CommitResult r) {
        return snapshot.toHex() + "\t" + r.applied().size() + "\t" + r.elapsedNs() / 1000 + "\n";
    }

    /** Writes {@code "changes": [{"path": ..., "change": "added|modified|deleted"}, ...]} into an open object. */
    public static void writeChanges(Json w, List<Change> changes) {
        w.name("changes").beginArray();
        for (Change ch : changes) {
            w.beginObject()
                    .field("path", ch.path())
                    .field("change", ch.kind().name().toLowerCase())
                    .endObject();
        }
        w.endArray();
    }

    /** How many changes a run's summary lists by name. */
    private static final int LISTED = 20;

    /** One line of a change list: kind, aligned, then the path. */
    public static String changeLine(Change ch) {
        return switch (ch.kind()) {
                    case ADDED -> "  added:    ";
                    case MODIFIED -> "  modified: ";
                    case DELETED -> "  deleted:  ";
                }
                + ch.path() + "\n";
    }

    /**
     * Sets the modification time of every entry the transaction wrote or created, and of every
     * directory whose entries it changed, to {@code clampNs} when it is later (as {@code tar
     * --clamp-mtime} does with SOURCE_DATE_EPOCH): two runs that write the same bytes then give the
     * same tree id whenever they ran. Entries the transaction did not touch keep their times. The
     * caller holds the lock.
     */
    private void clampMtimes(LiveFs.View v, long clampNs) throws IOException {
        for (Change ch : Diff.between(live.store(), v.txn.baseRoot(), v.tree.flush())) {
            List<byte[]> seg = ch.segments();
            if (!seg.isEmpty()) {
                LiveFs.findSegments(v.tree, seg.subList(0, seg.size() - 1)).ifPresent(p -> clamp(v, p, clampNs, false));
            }
            if (ch.kind() != Change.Kind.DELETED) {
                // an added directory comes as one change: everything under it is new too
                LiveFs.findSegments(v.tree, seg).ifPresent(n -> clamp(v, n, clampNs, ch.kind() == Change.Kind.ADDED));
            }
        }
    }

    /** Clamps {@code n}'s mtime if the transaction changed it, and with {@code deep} all below it. */
    private static void clamp(LiveFs.View v, MutableNode n, long clampNs, boolean deep) {
        if (n.changedSeq() != 0 && n.mtimeNs() > clampNs) {
            v.tree.setAttributes(n, null, null, null, clampNs);
        }
        if (deep && n instanceof MutableNode.Dir d) {
            for (MutableNode child : v.tree.list(d).values()) {
                clamp(v, child, clampNs, true);
            }
        }
    }

    /** A run name must make a valid ref under {@value #RUNS}. */
    private static void checkRunRef(String ref) throws Failure {
        try {
            RefStore.checkName(ref);
        } catch (IllegalArgumentException e) {
            throw new Failure(
                    EXIT_USAGE,
                    "invalid run name '" + ref.substring(RUNS.length())
                            + "': letters, digits, '.', '_' and '-', in parts separated by '/'");
        }
    }

    /**
     * {@code txfs commit|abort --run NAME}: merges the run kept as {@code runs/NAME} into the live
     * tree (as its commit would have; on conflict nothing changes and the run stays kept), or drops
     * it. Only its user (the kept snapshot's author) or root may.
     */
    private String kept(Caller c, String op, String name, String message) throws Failure, IOException {
        String ref = RUNS + name;
        checkRunRef(ref);
        synchronized (fs.lock()) {
            ObjectId snap = live.store()
                    .refs()
                    .find(ref)
                    .orElseThrow(() -> new Failure(EXIT_NOT_FOUND, "no kept run " + name + " (ref " + ref + ")"));
            dev.txfs.snapshot.Snapshot k = Snapshots.load(live.store(), snap);
            if (c.uid() != 0 && !k.author().equals(userName(c.uid()))) {
                throw new Failure(EXIT_DENIED, "kept run " + name + " belongs to " + k.author());
            }
            if (op.equals("drop")) {
                live.store().refs().compareAndSet(ref, snap, null);
                return snap.toHex() + "\n";
            }
            String msg = !message.isEmpty() ? message : k.message();
            LiveTree.CommitResult r;
            try {
                // the run's changes are checked as its user's when that user commits them; root
                // committing a kept run takes them as its own (it can read them with txfs diff first)
                r = fs.commitKept(
                        snap, k.author(), msg, CommitPermissions.ofKept(live.store(), snap, credentials(c), clock));
            } catch (IllegalArgumentException e) {
                throw new Failure(EXIT_USAGE, e.getMessage());
            } catch (LiveTree.DeniedException e) {
                throw denied("kept run " + name + " stays kept", e);
            }
            if (r.conflicted()) {
                throw conflict(
                        "kept run " + name + " and the live tree changed the same paths since its base;"
                                + " nothing was committed and it stays kept",
                        ref,
                        r.conflicts());
            }
            live.store().refs().compareAndSet(ref, snap, null);
            return commitReply(live.snapshotOf(r), r);
        }
    }

    private String newId() {
        byte[] b = new byte[6];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The open transaction the caller is in, if any. The caller holds the lock. */
    private Optional<LiveFs.View> current(Caller c) {
        LiveFs.View v = fs.viewOf(c);
        return v.isLive() ? Optional.empty() : Optional.of(v);
    }

    /** The caller's transaction, checked: the caller descends from its root and is its user or root. */
    private LiveFs.View own(Caller c) throws Failure {
        LiveFs.View v = current(c).orElseThrow(() -> new Failure(EXIT_NOT_FOUND, "not in a transaction"));
        checkUser(c, v.txn);
        long client = ProcInfo.tgid(c.pid());
        if (!ProcInfo.isAncestor(v.txn.rootPid(), client)) {
            throw new Failure(
                    EXIT_DENIED,
                    "this process does not descend from " + v.txn + "'s root (pid " + v.txn.rootPid() + ")");
        }
        return v;
    }

    /**
     * The transaction a request acts on: the one it names (root only), else the caller's own,
     * checked by {@link #own}. The caller holds the lock.
     */
    private LiveFs.View target(Caller c, String txn) throws Failure {
        if (txn.isEmpty()) {
            return own(c);
        }
        if (c.uid() != 0) {
            throw new Failure(EXIT_DENIED, "only root may name a transaction (--txn); act on your own from inside it");
        }
        LiveFs.View v = fs.openViews().get(txn);
        if (v == null) {
            throw new Failure(EXIT_NOT_FOUND, "no open transaction " + txn);
        }
        return v;
    }

    private static void checkUser(Caller c, Transaction t) throws Failure {
        if (c.uid() != 0 && c.uid() != t.uid()) {
            throw new Failure(EXIT_DENIED, t + " belongs to uid " + t.uid());
        }
    }

    /**
     * The credentials a request's writer acts with: the kernel's uid and gid of the request, and
     * the writer's supplementary groups now.
     */
    private static Transaction.Credentials credentials(Caller c) throws IOException {
        return c.uid() == 0
                ? Transaction.Credentials.of(0, c.gid()) // root is not checked: no groups needed
                : Transaction.Credentials.ofThread(c.pid(), c.uid(), c.gid());
    }

    /** The live-tree permission check of a commit made as {@code creds} (none for root). */
    private LiveTree.CommitCheck check(Transaction.Credentials creds, long sinceNs) {
        return CommitPermissions.of(creds, sinceNs, clock);
    }

    /**
     * A commit that conflicts: exit code 6 and the message {@code conflict: SUMMARY}, then the id of
     * what stays (the transaction id, or {@code runs/NAME} for a kept run), then one conflicting path
     * per line. The summary is a whole sentence: a client that shows one line shows it alone.
     */
    static Failure conflict(String summary, String id, List<String> paths) {
        StringBuilder b =
                new StringBuilder("conflict: ").append(summary).append('\n').append(id);
        paths.forEach(p -> b.append('\n').append(p));
        return new Failure(EXIT_CONFLICT, b.toString());
    }

    /** A commit refused by {@link CommitPermissions}: exit code 7, the refused paths listed. */
    private static Failure denied(String what, LiveTree.DeniedException e) {
        return new Failure(
                EXIT_DENIED,
                "permission denied: the live tree does not let its user make these changes; " + what + ":\n"
                        + String.join("\n", e.paths()));
    }

    private String commit(Caller c, String message, String txn) throws Failure, IOException {
        LiveFs.View v;
        LiveTree.CommitResult r;
        synchronized (fs.lock()) {
            v = target(c, txn);
        }
        fs.writeBackTransactionPages(v); // the commit holds what mappings wrote before it
        synchronized (fs.lock()) {
            v = target(c, txn);
            String msg = !message.isEmpty() ? message : !v.txn.message().isEmpty() ? v.txn.message() : "txfs commit";
            try {
                r = live.commit(v.txn, userName(v.txn.uid()), msg, check(v.txn.creds(), v.txn.startedNs()));
            } catch (LiveTree.DeniedException e) {
                throw denied(v.txn + " stays open", e);
            }
            if (r.conflicted()) {
                throw conflict(
                        "changed both in " + v.txn + " and outside since it began; nothing was committed"
                                + " and it stays open",
                        v.txn.id(),
                        r.conflicts());
            }
            fs.closeView(v, r);
        }
        membership.remove(v.txn.id());
        return commitReply(live.snapshotOf(r), r);
    }

    private String abort(Caller c, String txn) throws Failure, IOException {
        LiveFs.View v;
        synchronized (fs.lock()) {
            v = target(c, txn);
            live.abort(v.txn);
            fs.closeView(v, null);
        }
        membership.remove(v.txn.id());
        return v.txn.id() + "\n";
    }

    /**
     * Aborts open transactions none of whose processes is left (the shell exited without commit).
     * A transaction still being begun has no members yet and is skipped: before, a reap between
     * the view's opening and the move of its root aborted it, and {@code txfs begin} still printed
     * its id, so the shell's writes went to the live tree and its commit found no transaction.
     */
    public List<String> reap() throws IOException {
        if (membership == null) {
            return List.of();
        }
        List<LiveFs.View> candidates;
        synchronized (fs.lock()) {
            candidates = new ArrayList<>(fs.openViews().values());
        }
        List<String> aborted = new ArrayList<>();
        for (LiveFs.View v : candidates) {
            if (starting.contains(v.txn.id()) || membership.hasMembers(v.txn.id())) {
                continue;
            }
            synchronized (fs.lock()) {
                if (v.txn.state() != Transaction.State.OPEN) {
                    continue;
                }
                live.abort(v.txn);
                fs.closeView(v, null);
            }
            membership.remove(v.txn.id());
            LOG.info(v.txn + " aborted: no process of it is left (root pid " + v.txn.rootPid() + ")");
            aborted.add(v.txn.id());
        }
        return aborted;
    }

    private record Summary(List<Change> changes, long bytes) {}

    /** The transaction's changes against its base (flushes its tree: objects only, no ref moves). */
    private Summary summary(LiveFs.View v) throws IOException {
        ObjectId root = v.tree.flush();
        List<Change> changes = Diff.between(live.store(), v.txn.baseRoot(), root);
        long bytes = 0;
        for (Change ch : changes) {
            if (ch.after() == dev.txfs.snapshot.EntryKind.FILE) {
                bytes += v.tree.find(ch.path()).map(MutableNode::size).orElse(0L);
            }
        }
        return new Summary(changes, bytes);
    }

    private String status(Caller c, boolean json, String txn) throws Failure, IOException {
        synchronized (fs.lock()) {
            Optional<LiveFs.View> cur = txn.isEmpty() ? current(c) : Optional.of(target(c, txn));
            String mode = membership.mode().name().toLowerCase().replace('_', '-');
            if (cur.isEmpty()) {
                return json
                        ? new Json()
                                        .beginObject()
                                        .field("context", "live")
                                        .field("membership", mode)
                                        .field(
                                                "open_transactions",
                                                fs.openViews().size())
                                        .endObject()
                                + "\n"
                        : "context: live tree\nmembership: " + mode + "\nopen transactions: "
                                + fs.openViews().size() + "\n";
            }
            Transaction t = cur.get().txn;
            checkUser(c, t);
            Summary s = summary(cur.get());
            long ageS = (clock.getAsLong() - t.startedNs()) / 1_000_000_000L;
            StringBuilder b = new StringBuilder();
            if (json) {
                Json w = new Json()
                        .beginObject()
                        .field("context", "transaction")
                        .field("id", t.id())
                        .field("membership", mode)
                        .field("base", t.baseSnapshot().toHex())
                        .field("root_pid", t.rootPid())
                        .field("user", userName(t.uid()))
                        .field("age_seconds", ageS)
                        .field("message", t.message())
                        .field("bytes", s.bytes());
                writeChanges(w, s.changes());
                b.append(w.endObject()).append('\n');
            } else {
                b.append("context: ").append(t).append('\n');
                b.append("membership: ").append(mode).append('\n');
                b.append("base: ").append(t.baseSnapshot().toHex()).append('\n');
                b.append("root: pid ")
                        .append(t.rootPid())
                        .append(" (")
                        .append(t.rootCommand())
                        .append(")\n");
                b.append("age: ").append(age(ageS)).append('\n');
                if (!t.message().isEmpty()) {
                    b.append("message: ").append(t.message()).append('\n');
                }
                b.append(s.changes().isEmpty() ? "no changes\n" : "changes:\n");
                for (Change ch : s.changes()) {
                    b.append(changeLine(ch));
                }
            }
            return b.toString();
        }
    }

    private String list(Caller c, boolean json) throws IOException {
        synchronized (fs.lock()) {
            StringBuilder b = new StringBuilder();
            Json w = new Json().beginArray();
            if (!json) {
                b.append(String.format(
                        "%-12s %7s %-10s %8s %7s %10s  %s%n",
                        "ID", "PID", "USER", "AGE", "CHANGES", "BYTES", "COMMAND"));
            }
            for (Map.Entry<String, LiveFs.View> e : fs.openViews().entrySet()) {
                Transaction t = e.getValue().txn;
                if (c.uid() != 0 && c.uid() != t.uid()) {
                    continue; // another user's transaction is theirs alone
                }
                Summary s = summary(e.getValue());
                long ageS = (clock.getAsLong() - t.startedNs()) / 1_000_000_000L;
                if (json) {
                    w.beginObject()
                            .field("id", t.id())
                            .field("root_pid", t.rootPid())
                            .field("command", t.rootCommand())
                            .field("user", userName(t.uid()))
                            .field("age_seconds", ageS)
                            .field("changes", s.changes().size())
                            .field("bytes", s.bytes())
                            .endObject();
                } else {
                    b.append(String.format(
                            "%-12s %7d %-10s %8s %7d %10d  %s%n",
                            t.id(),
                            t.rootPid(),
                            userName(t.uid()),
                            age(ageS),
                            s.changes().size(),
                            s.bytes(),
                            t.rootCommand()));
                }
            }
            return json ? w.endArray() + "\n" : b.toString();
        }
    }

    private static String age(long s) {
        return s < 120 ? s + "s" : s < 7200 ? s / 60 + "m" : s / 3600 + "h";
    }

    /** The user's name from /etc/passwd, else "uid N". */
    public static String userName(long uid) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = line.split(":");
                if (f.length > 2 && f[2].equals(Long.toString(uid))) {
                    return f[0];
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return "uid " + uid;
    }
}
