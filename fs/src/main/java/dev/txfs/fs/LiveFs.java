package dev.txfs.fs;

import static dev.txfs.fs.Privileges.CAPABILITY;
import static dev.txfs.fs.Privileges.SET_ID_BITS;
import static dev.txfs.fs.Privileges.S_ISGID;
import static dev.txfs.fs.Privileges.S_ISUID;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.fs.fuse.HeapGuard;
import dev.txfs.fs.fuse.PosixAcl;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.MutableTree.RenameMode;
import dev.txfs.snapshot.MutableTree.XattrMode;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.TreeExceptions;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import dev.txfs.txn.proc.Membership;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.function.LongSupplier;

/**
 * POSIX semantics over the live tree and the open transactions, by inode number: the views, the
 * inode table, open handles, attributes and the rules the kernel leaves to the filesystem
 * (ownership of new nodes, setgid directories, xattr namespaces, fallocate modes).
 *
 * <p><b>Views.</b> A request is served from a view: the live tree, or one transaction's tree.
 * Namespace requests (lookup, create, open, getattr by inode...) use the caller's sync context
 * ({@link Membership#resolve} of the request's thread id; with no transaction open nothing is
 * resolved); file-handle requests (read, write, release, fsync...) use the view the handle was
 * opened in, since write-outs and release carry no useful pid.
 *
 * <p><b>Inode = node version.</b> A node's number is its {@link MutableNode#serial()} + 1 (root 1),
 * unique across all trees. A transaction's node that is the same version as a live node (loaded
 * unchanged from the transaction's base, and the live node unchanged and not open for writing since
 * then) takes the live node's number instead, so both views share one inode, one page cache and
 * one attribute cache. Directories share their number whatever their contents (their names are
 * resolved per view), but only while they are where they were at begin in both views: the kernel
 * keeps one dentry per directory inode, so a number at two paths would move between the views'
 * paths and the kernel's ancestry checks (rename into itself, getcwd) would follow the view that
 * looked last. Once either view moved it or a directory above it, or removed it, the transaction's
 * directory takes a number of its own (checked where a number is handed out or used, two
 * {@link MutableTree#placedBy} walks); a transaction about to move or remove a shared directory
 * (or rename over one) first gives the number up for it and everything below and answers ESTALE,
 * so that the kernel's retry works on the transaction's inode. Before a shared file is changed it
 * <i>diverges</i>: the changing side's node gets a number of its own.
 * <ul>
 *   <li>A transaction changing a shared node (open for writing, setattr, xattrs, link) diverges it
 *       and answers ESTALE: path-based system calls then look the name up again (LOOKUP_REVAL) and
 *       find the new inode; on a descriptor opened read-only before, the call fails with ESTALE.
 *   <li>The live tree changing a node a transaction may still share: the transaction's version
 *       gets a number of its own, and its names are invalidated in the kernel (and waited for)
 *       before the change is served. A transaction's descriptor opened before that keeps the shared
 *       inode and so sees the outside change (the one corner where isolation is weaker): its reads
 *       and mappings show the live file from then on; fstat on it, which carries no handle, answers
 *       ESTALE (the inode is no longer in the transaction's view).
 * </ul>
 *
 * <p><b>Names.</b> While a transaction is open, a name changed in any view since the oldest open
 * base (created, removed, renamed, or its node diverged) gets entry validity 0: every lookup comes
 * here and is answered per view. Other names keep the long validity, except while a transaction
 * begun on a snapshot of its own is open ({@code txfs run --base}): it may differ from the live
 * tree at any name, so every name gets validity 0 and none of its files shares an inode with the
 * live tree (its directories at the same place do, as directories have no page cache). A rename of a name the kernel
 * may hold with a long validity first answers ESTALE after invalidating it, so the kernel's retry
 * moves a dentry it will look up again. Attributes of an inode several views reach (the root
 * always, a shared directory or file) get validity 0 while they differ ({@link #attrValidWithLock}).
 *
 * <p><b>Commit</b> merges into the live tree ({@link LiveTree#commit}); the transaction's inodes the
 * kernel holds are bound to the live nodes that replace them (their page cache stays warm) and its
 * handles continue on the live tree. On a {@code --require-txn} mount nothing written through them
 * after the commit reaches the live tree: write(2) fails with EROFS, as any change outside a
 * transaction, and so does the kernel's write-out of a shared mapping's pages; those dirtied before
 * the commit were written out before it ({@link #writeBackTransactionPages}). <b>Abort</b> unbinds
 * them: the kernel looks names up again.
 *
 * <p>Not in the tree, kept here for the mount's life: atimes set by utimensat (the tree keeps no
 * atime; st_atime is the mtime otherwise) and which nodes lost their last name while open (st_nlink
 * 0). POSIX ACLs: see {@link PosixAcl}.
 *
 * <p>Locking: every call holds the live tree's lock (one lock for all views). Notifications are
 * sent without it.
 */
public final class LiveFs implements FsOps {
    static final long VALID_NS = 60_000_000_000L;
    private static final int S_IFMT = 0170000;
    /**
     * The most a node's extended attributes may take, names and values together (64 KiB; ext4 fits
     * about one block, 4 KiB, in an inode). Enough for POSIX ACLs and SELinux labels; a setxattr past
     * it answers ENOSPC (the kernel itself refuses a single value over 64 KiB with E2BIG). Xattrs are
     * held in memory with the node, so without a bound one user's file could fill the heap.
     */
    static final int MAX_XATTR_BYTES = 64 * 1024;

    private static final int O_ACCMODE = 3;
    private static final int O_TRUNC = 01000;
    /** The control directory {@code /.txfs} and its file {@code ctl}: numbers no node serial reaches. */
    static final long CTL_DIR = 0x7fff_ffff_ffff_ff00L, CTL = CTL_DIR + 1;

    static final byte[] CTL_DIR_NAME = ".txfs".getBytes(ISO_8859_1);

    /** Where kernel notifications go (the FUSE session); a no-op until a session is attached. */
    public interface Notifier {
        void invalidateEntry(long parent, byte[] name);

        void invalidateInode(long ino, long off, long len);

        /** Waits (bounded) until the kernel has applied what was sent so far. */
        void await();

        Notifier NONE = new Notifier() {
            @Override
            public void invalidateEntry(long parent, byte[] name) {}

            @Override
            public void invalidateInode(long ino, long off, long len) {}

            @Override
            public void await() {}
        };
    }

    /** A view: the live tree, or one transaction. */
    static final class View {
        final Transaction txn;
        final MutableTree tree;
        /** Inode numbers other than serial + 1: shared with the live tree, or rebound after a commit. */
        final Map<MutableNode, Long> inos = new WeakHashMap<>();
        /** Names (see {@link #nameKey}) this transaction changed. */
        final Set<String> changedNames = new HashSet<>();
        /**
         * This transaction's directories that took a live directory's number, with that live
         * directory: shared only while both are where they were at begin (see {@link #dirShared}).
         */
        final Map<MutableNode, MutableNode> sharedDirs = new WeakHashMap<>();
        /** Directories this transaction was about to move or remove while shared: they and all below them have numbers of their own. */
        final Set<MutableNode> ownDirs = Collections.newSetFromMap(new WeakHashMap<>());

        View(Transaction txn, MutableTree tree) {
            this.txn = txn;
            this.tree = tree;
        }

        boolean isLive() {
            return txn == null;
        }

        boolean closed() {
            return txn != null && txn.state() != Transaction.State.OPEN;
        }

        /**
         * A view on a base other than the live state ({@code txfs run --base}, {@code begin ...
         * BASE}) is served as if mounted nosuid,nodev, whatever the mount's options: an old or
         * imported tree may hold a setuid binary, a device node or a file capability that today's
         * live tree no longer has. Its regular files show no setuid/setgid bits, its device nodes
         * device number 0, and security.capability is not served (see {@link #nodeAttr}). Such a
         * view shares no file inode with the live tree (see {@link #sameVersion}), so the kernel
         * holds these attributes for its inodes only. The snapshots under {@code /.txfs/snapshots}
         * are served the same way ({@link SnapshotsFs}). A transaction on the live state restricts
         * some of its nodes only (see {@link LiveFs#hides}).
         */
        boolean restricted() {
            return txn != null && txn.ownBase();
        }
    }

    /**
     * An inode the kernel holds: the node it stands for in each view that has it. {@code live} is
     * set whenever the number is a live node's, also when only a transaction sharing it looked it up.
     */
    static final class Inode {
        final long ino;
        MutableNode live;
        final Map<View, MutableNode> txns = new IdentityHashMap<>(2);
        long lookups;

        Inode(long ino) {
            this.ino = ino;
        }

        MutableNode in(View v) {
            return v.isLive() ? live : txns.get(v);
        }

        void bind(View v, MutableNode n) {
            if (v.isLive()) {
                live = n;
            } else {
                txns.put(v, n);
            }
        }

        void unbind(View v) {
            if (v.isLive()) {
                live = null;
            } else {
                txns.remove(v);
            }
        }

        int bindings() {
            return (live == null ? 0 : 1) + txns.size();
        }
    }

    private final LiveTree live;
    private final View liveView;
    private final Object lock;
    private final LongSupplier clock;
    private final StatFsSource statfs;
    private final Membership membership;
    private final boolean requireTxn;
    private final Map<Long, Inode> inodes = new HashMap<>();
    private final Map<Long, Handle> handles = new HashMap<>();
    /** Open transactions by id. */
    private final Map<String, View> txns = new LinkedHashMap<>();
    /** Names the live tree changed while a transaction was open, with the sequence number then. */
    private final Map<String, Long> liveChangedNames = new HashMap<>();
    /** Nodes open for writing, with how many handles. */
    private final Map<MutableNode, Integer> writers = new IdentityHashMap<>();
    /** Explicitly set atimes (MutableNode has identity equality, so weak keys are safe). */
    private final Map<MutableNode, Long> atimes = new WeakHashMap<>();
    /** Nodes that lost their last name (still open somewhere). */
    private final Set<MutableNode> orphans = Collections.newSetFromMap(new WeakHashMap<>());

    private long nextFh = 1;
    private final Runnable onDestroy;
    private volatile Notifier notifier = Notifier.NONE;
    private final TxnControl control;

    /** Where statfs numbers come from (the store's device and map). */
    public interface StatFsSource {
        StatFs get() throws IOException;
    }

    /** An open file or directory; the control file's handles carry its request and reply instead. */
    static final class Handle {
        View view;
        MutableNode node;
        final int flags;
        final List<DirEntry> listing;
        final TxnControl.Exchange control;

        Handle(View view, MutableNode node, int flags, List<DirEntry> listing, TxnControl.Exchange control) {
            this.view = view;
            this.node = node;
            this.flags = flags;
            this.listing = listing;
            this.control = control;
        }

        boolean writable() {
            return (flags & O_ACCMODE) != 0;
        }
    }

    public LiveFs(LiveTree live, LongSupplier clock, StatFsSource statfs, Runnable onDestroy) {
        this(live, clock, statfs, onDestroy, null, false);
    }

    /**
     * @param membership how callers map to transactions; null: no transactions on this mount
     * @param requireTxn outside transactions the mount is read-only (EROFS)
     */
    public LiveFs(
            LiveTree live,
            LongSupplier clock,
            StatFsSource statfs,
            Runnable onDestroy,
            Membership membership,
            boolean requireTxn) {
        this.live = live;
        this.liveView = new View(null, live.tree());
        this.lock = live.lock();
        this.clock = clock;
        this.statfs = statfs;
        this.onDestroy = onDestroy;
        this.membership = membership;
        this.requireTxn = requireTxn;
        Inode root = new Inode(ROOT);
        root.live = live.tree().root();
        inodes.put(ROOT, root);
        this.control = new TxnControl(this, live, membership, clock);
    }

    public void setNotifier(Notifier n) {
        this.notifier = n == null ? Notifier.NONE : n;
    }

    Notifier notifier() {
        return notifier;
    }

    Object lock() {
        return lock;
    }

    LiveTree liveTree() {
        return live;
    }

    LongSupplier clock() {
        return clock;
    }

    public TxnControl control() {
        return control;
    }

    /** How many inodes the kernel holds a lookup count on (the root included); for tests. */
    int inodesHeld() {
        synchronized (lock) {
            return inodes.size();
        }
    }

    // ---- views ------------------------------------------------------------------------------

    /** The view a namespace request is served from: the caller's transaction, else the live tree. */
    View viewOf(Caller c) {
        if (txns.isEmpty() || membership == null || c.pid() == 0) {
            return liveView;
        }
        Optional<String> id = membership.resolve(c.pid());
        if (id.isEmpty()) {
            return liveView;
        }
        View v = txns.get(id.get());
        return v == null ? liveView : v;
    }

    View liveView() {
        return liveView;
    }

    Map<String, View> openViews() {
        return txns;
    }

    /** Registers a begun transaction's view; the caller holds the lock. */
    void addView(Transaction t) {
        txns.put(t.id(), new View(t, t.tree()));
    }

    static String nameKey(long dirIno, byte[] name) {
        return dirIno + "/" + new String(name, ISO_8859_1);
    }

    /**
     * The node's inode number in view {@code v}. In a transaction the number of a node is decided
     * the first time it is asked for, and kept: the live node's number if the live tree has the same
     * version at the same place (see {@link #sameVersion}), else a number of its own.
     */
    long inoOf(View v, MutableNode n) {
        if (n == v.tree.root()) {
            return ROOT;
        }
        Long o = v.inos.get(n);
        if (o != null) {
            if (n instanceof Dir && !v.isLive() && o != n.serial() + 1) {
                MutableNode l = v.sharedDirs.get(n);
                if (l == null || !dirShared(v, n, l)) {
                    return unshareDir(v, n, o);
                }
            }
            return o;
        }
        if (v.isLive()) {
            return n.serial() + 1;
        }
        long ino = n.serial() + 1;
        if (v.tree.placedBy(n, 0)) {
            MutableNode l = v.tree.pathOf(n).flatMap(p -> live.tree().find(p)).orElse(null);
            if (l != null
                    && live.tree().placedBy(l, v.txn.baseSeq())
                    && sameVersion(v, l, n)
                    && !(n instanceof Dir && underOwnDir(v, n))) {
                ino = inoOf(liveView, l);
                if (n instanceof Dir) {
                    v.sharedDirs.put(n, l);
                }
            }
        }
        v.inos.put(n, ino);
        return ino;
    }

    /**
     * Whether transaction directory {@code t} may still share the number of live directory
     * {@code l}: both are where they were at begin (neither they nor a directory above them got a
     * name since), and the transaction gave up none of the numbers above. The kernel keeps one
     * dentry per directory inode, so one number at two paths would move that dentry back and forth
     * between the views, and the kernel's ancestry checks (rename into itself, {@code ..}, getcwd)
     * would follow whichever view looked last. Once false, false for the rest of the transaction.
     */
    private boolean dirShared(View v, MutableNode t, MutableNode l) {
        return v.tree.placedBy(t, 0) && live.tree().placedBy(l, v.txn.baseSeq()) && !underOwnDir(v, t);
    }

    private static boolean underOwnDir(View v, MutableNode t) {
        if (v.ownDirs.isEmpty()) {
            return false;
        }
        for (Dir x = (Dir) t; x != null; x = x.parent()) {
            if (v.ownDirs.contains(x)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Transaction directory {@code t} stops sharing number {@code shared} with the live tree: it gets
     * a number of its own and the kernel's {@code shared} no longer stands for it in {@code v} (the
     * transaction's names lead to the new number; a process of it still holding the old one, such
     * as a cwd, gets ESTALE). One number per node per view, which the commit's rebinding needs.
     */
    private long unshareDir(View v, MutableNode t, long shared) {
        long own = t.serial() + 1;
        v.inos.put(t, own);
        v.sharedDirs.remove(t);
        Inode rec = inodes.get(shared);
        if (rec != null && rec.txns.get(v) == t) {
            rec.unbind(v);
        }
        return own;
    }

    long inoOf(MutableNode n) {
        return inoOf(liveView, n);
    }

    /** Whether live node {@code l} is still the version transaction {@code v} loaded as {@code t}. */
    private boolean sameVersion(View v, MutableNode l, MutableNode t) {
        long base = v.txn.baseSeq();
        if (l.kind() != t.kind() || l.attachedSeq() > base || (v.txn.ownBase() && !(l instanceof Dir))) {
            return false;
        }
        return l instanceof Dir || (l.changedSeq() <= base && !writers.containsKey(l) && t.changedSeq() == 0);
    }

    /** The node {@code ino} stands for in {@code v}; ESTALE if it is not (any more) in that view. */
    private MutableNode node(View v, long ino) throws IOException {
        if (ino == ROOT) {
            return v.tree.root();
        }
        Inode rec = inodes.get(ino);
        if (rec == null) {
            throw new NoSuchFileException("inode " + ino);
        }
        MutableNode n = rec.in(v);
        if (n instanceof Dir && !v.isLive() && inoOf(v, n) != ino) {
            n = null; // no longer shared: the check unbound it
        }
        if (n == null && !v.isLive()) {
            n = bindLazily(v, rec);
        }
        if (n == null) {
            throw new FsException(Kind.STALE, "inode " + ino + " is not in this view");
        }
        return n;
    }

    /**
     * The live node whose number transaction {@code v}'s node {@code t} took ({@link #inoOf} shares
     * it when the live tree has the same version at the same place), or null when {@code ino} is
     * not a live node's number or that node is no longer at {@code t}'s path.
     */
    private MutableNode liveOwner(View v, MutableNode t, long ino) {
        if (v.isLive() || ino == t.serial() + 1) {
            return null;
        }
        MutableNode l = v.tree.pathOf(t).flatMap(p -> live.tree().find(p)).orElse(null);
        return l != null && inoOf(liveView, l) == ino ? l : null;
    }

    /**
     * A transaction meets an inode the live tree gave the kernel (a cwd from before begin, a name
     * the kernel cached, a live node's number an earlier transaction shared): binds it if the
     * transaction has the same version at the same place.
     */
    private MutableNode bindLazily(View v, Inode rec) throws IOException {
        MutableNode l = rec.live;
        if (l == null || !live.tree().placedBy(l, v.txn.baseSeq())) {
            return null;
        }
        MutableNode t = live.tree().pathOf(l).flatMap(p -> v.tree.find(p)).orElse(null);
        if (t == null || inoOf(v, t) != rec.ino) {
            return null;
        }
        rec.bind(v, t);
        return t;
    }

    private Dir dir(View v, long ino) throws IOException {
        if (!(node(v, ino) instanceof Dir d)) {
            throw new NotDirectoryException("inode " + ino);
        }
        return d;
    }

    /** A change is about to be made in {@code v}: refused outside transactions on a --require-txn mount. */
    private void checkWritable(View v) throws FsException {
        if (v.isLive() && requireTxn) {
            throw new FsException(Kind.READ_ONLY, "changes need a transaction on this mount (txfs begin)");
        }
    }

    /** Records that {@code v} changed name {@code name} of directory {@code dirIno}. */
    private void nameChanged(View v, long dirIno, byte[] name) {
        if (txns.isEmpty()) {
            return;
        }
        String key = nameKey(dirIno, name);
        if (v.isLive()) {
            liveChangedNames.put(key, live.tree().nextSeq());
        } else {
            v.changedNames.add(key);
        }
    }

    private boolean nameDiverged(long dirIno, byte[] name) {
        if (txns.isEmpty()) {
            return false;
        }
        String key = nameKey(dirIno, name);
        if (liveChangedNames.containsKey(key)) {
            return true;
        }
        for (View v : txns.values()) {
            if (v.txn.ownBase() || v.changedNames.contains(key)) {
                return true; // a transaction on a snapshot of its own may differ at any name
            }
        }
        return false;
    }

    /** Every name of {@code n} in {@code v}: marked changed and invalidated in the kernel. */
    private void divergeNames(View marker, View v, MutableNode n) throws IOException {
        for (Map.Entry<Dir, byte[]> e : v.tree.namesOf(n)) {
            long dirIno = inoOf(v, e.getKey());
            nameChanged(marker, dirIno, e.getValue());
            notifier.invalidateEntry(dirIno, e.getValue());
        }
    }

    /**
     * Before transaction {@code v} changes node {@code n} (not a directory) reached through inode
     * {@code ino}: if the live tree shares that inode, {@code n} gets its own number and the request
     * is answered ESTALE, so that the kernel looks the name up again.
     */
    private void beforeTxnChange(View v, long ino, MutableNode n) throws IOException {
        if (v.isLive() || n instanceof Dir || ino == n.serial() + 1) {
            return;
        }
        // Any other number is the live node's, whether or not the live view has met it yet (after a
        // commit the live node keeps the committed transaction's number, and the kernel may have
        // forgotten it): one kernel inode, one page cache, so the transaction needs its own.
        v.inos.put(n, n.serial() + 1);
        Inode rec = inodes.get(ino);
        if (rec != null) {
            rec.unbind(v);
        }
        divergeNames(v, v, n);
        throw new FsException(Kind.STALE, "diverged from the live tree; look it up again");
    }

    /**
     * Before the live tree changes node {@code l} (not a directory): every open transaction that
     * may still share it (bound, or reachable through a name the kernel caches) stops doing so, and
     * the kernel drops those names. Returns whether notifications must be awaited before the change.
     */
    private boolean beforeLiveChange(MutableNode l, long ino) throws IOException {
        if (txns.isEmpty() || l instanceof Dir) {
            return false;
        }
        boolean sent = false;
        Inode rec = inodes.get(ino);
        for (View v : txns.values()) {
            MutableNode t = rec == null ? null : rec.txns.get(v);
            if (t != null) {
                v.inos.put(t, t.serial() + 1);
                rec.unbind(v);
                divergeNames(liveView, v, t);
                followLive(v, t, l);
                sent = true;
            } else if (!v.txn.ownBase() && l.attachedSeq() <= v.txn.baseSeq() && l.changedSeq() <= v.txn.baseSeq()) {
                sent = true; // a cached name may lead the transaction here
            }
        }
        if (sent) {
            divergeNames(liveView, liveView, l);
        }
        return sent;
    }

    /**
     * Before the live tree unlinks non-directory {@code l} or renames another node over it: an open
     * transaction still sharing its inode (bound to it, or numbered so for its next lookup) gives the
     * number up, and its version gets an inode of its own. That version is no longer the live tree's
     * current one, so it may be served restricted ({@link #hides}); on the old number the kernel may
     * hold the live attributes (a set-id bit) for a long validity, on a new one it holds none. The
     * kernel drops or moves the name's dentry itself, so nothing is sent (the caller's request holds
     * the directories' locks, see the notification rules).
     */
    private void beforeLiveRemove(MutableNode l) {
        if (txns.isEmpty() || l == null || l instanceof Dir) {
            return;
        }
        long ino = inoOf(liveView, l);
        Inode rec = inodes.get(ino);
        Optional<String> path = live.tree().pathOf(l);
        for (View v : txns.values()) {
            MutableNode t = rec == null ? null : rec.txns.get(v);
            if (t == null) {
                t = path.flatMap(p -> v.tree.find(p)).orElse(null);
            }
            Long shared = t == null ? null : v.inos.get(t);
            if (t instanceof Dir || shared == null || shared != ino) {
                continue;
            }
            v.inos.put(t, t.serial() + 1);
            if (rec != null && rec.txns.get(v) == t) {
                rec.unbind(v);
            }
            followLive(v, t, l);
        }
    }

    /**
     * The transaction's descriptors opened on the inode it shared with the live tree stay on that
     * inode, whose page cache the live change is about to fill: they read the live node from now on,
     * so that what the kernel has cached and what it reads here agree (they see the live change, the
     * documented weak corner, instead of a mix of both versions). Only read-only ones can exist: a
     * transaction's open for writing diverges the node first.
     */
    private void followLive(View v, MutableNode t, MutableNode l) {
        for (Handle h : handles.values()) {
            if (h.view == v && h.node == t && !h.writable()) {
                h.view = liveView;
                h.node = l;
            }
        }
    }

    /** Runs {@code body} under the lock; if it asks, first waits for notifications without the lock, then runs it again. */
    private interface Step<R> {
        R run(boolean prepared) throws IOException;
    }

    private static final class AwaitNotifications extends RuntimeException {
        AwaitNotifications() {
            super(null, null, false, false);
        }
    }

    private <R> R withLiveDivergence(Step<R> body) throws IOException {
        try {
            synchronized (lock) {
                return body.run(false);
            }
        } catch (AwaitNotifications again) {
            notifier.await();
            synchronized (lock) {
                return body.run(true);
            }
        }
    }

    /** Inside a {@link Step}: diverges a live change from transactions; may unwind to await notifications. */
    private void prepareChange(View v, long ino, MutableNode n, boolean prepared) throws IOException {
        if (v.isLive()) {
            if (beforeLiveChange(n, ino) && !prepared) {
                throw new AwaitNotifications();
            }
        } else {
            beforeTxnChange(v, ino, n);
        }
    }

    // ---- attributes and entries -----------------------------------------------------------------

    private Attr attr(View v, MutableNode n) {
        return nodeAttr(
                inoOf(v, n), n, atimes.getOrDefault(n, n.mtimeNs()), orphans.contains(n) ? 0 : n.nlink(), hides(v, n));
    }

    /**
     * Whether node {@code n} is served restricted in view {@code v} (no set-id bits, device number
     * 0, no file capability; see {@link #nodeAttr}): every node of a {@link View#restricted} view;
     * in a transaction of a user other than root, a node that grants that user something ({@link
     * Privileges#grantsBeyond}) and is not the live tree's current version of its file. A
     * transaction begun before root replaced a setuid binary (by rename, as package managers do, or
     * in place) would otherwise go on serving the old one, set-id bit and all, to its user. The live
     * tree's current version keeps its bits, so sudo works inside a transaction; root's transactions
     * are not restricted this way.
     */
    private boolean hides(View v, MutableNode n) {
        if (v.isLive()) {
            return false;
        }
        if (v.restricted()) {
            return true;
        }
        Transaction.Credentials creds = v.txn.creds();
        return creds.uid() != 0 && Privileges.grantsBeyond(n, creds) && !isLiveVersion(v, n);
    }

    /**
     * Whether transaction node {@code t} is the live tree's current version of its file: it shares
     * its inode with the live node now at its path, and both are still the version {@code v} began
     * with (see {@link #sameVersion}).
     */
    private boolean isLiveVersion(View v, MutableNode t) {
        long ino = inoOf(v, t);
        if (ino == t.serial() + 1) {
            return false;
        }
        MutableNode l = v.tree.pathOf(t).flatMap(p -> live.tree().find(p)).orElse(null);
        return l != null && inoOf(liveView, l) == ino && sameVersion(v, l, t);
    }

    /**
     * A node's attributes as inode {@code ino}, with the access time and link count given. In a
     * {@code restricted} view (see {@link View#restricted}) a regular file shows no setuid or setgid
     * bit and a device node device number 0: the kernel takes both from these attributes, so exec
     * grants no identity and opening the node reaches no device (ENXIO), as on a nosuid,nodev mount.
     */
    static Attr nodeAttr(long ino, MutableNode n, long atimeNs, long nlink, boolean restricted) {
        long size = n.size();
        int mode = n.stMode();
        if (restricted && n instanceof File) {
            mode &= ~SET_ID_BITS;
        }
        return new Attr(
                ino,
                size,
                (size + 511) / 512,
                atimeNs,
                n.mtimeNs(),
                n.ctimeNs(),
                mode,
                nlink,
                n.uid(),
                n.gid(),
                n instanceof Special s && !restricted ? s.rdev() : 0);
    }

    /** Whether a restricted view serves xattr {@code name}: not file capabilities (see {@link View#restricted}). */
    static boolean servedIn(boolean restricted, String name) {
        return !restricted || !name.equals(CAPABILITY);
    }

    @Override
    public long attrValidNs(long ino) {
        synchronized (lock) {
            return attrValidWithLock(ino);
        }
    }

    /**
     * How long the kernel may cache inode {@code ino}'s attributes: long, unless a transaction is
     * open and two views that reach the inode differ in them, then 0. The kernel keeps one set of
     * attributes per inode, whichever view's request filled it, and answers stat from it while it is
     * valid; so every view that can reach the inode counts, also one whose processes have not asked
     * yet (found as its next request would find it, see {@link #node}), and the root, which every
     * view reaches without a lookup.
     */
    private long attrValidWithLock(long ino) {
        if (txns.isEmpty()) {
            return VALID_NS;
        }
        List<Attr> seen = new ArrayList<>();
        if (ino == ROOT) {
            seen.add(attr(liveView, live.tree().root()));
        } else {
            Inode rec = inodes.get(ino);
            if (rec == null) {
                return VALID_NS;
            }
            if (rec.live != null) {
                seen.add(attr(liveView, rec.live));
            }
        }
        for (View v : txns.values()) {
            MutableNode n;
            try {
                n = node(v, ino);
            } catch (IOException notInView) {
                continue;
            }
            seen.add(attr(v, n));
        }
        for (Attr a : seen) {
            if (!sameAttributes(a, seen.get(0))) {
                return 0;
            }
        }
        return VALID_NS;
    }

    /** Whether two views show the same attributes (the number aside: a view may know the node by another). */
    private static boolean sameAttributes(Attr a, Attr b) {
        return a.size() == b.size()
                && a.blocks() == b.blocks()
                && a.atimeNs() == b.atimeNs()
                && a.mtimeNs() == b.mtimeNs()
                && a.ctimeNs() == b.ctimeNs()
                && a.mode() == b.mode()
                && a.nlink() == b.nlink()
                && a.uid() == b.uid()
                && a.gid() == b.gid()
                && a.rdev() == b.rdev();
    }

    /**
     * A reply entry for {@code n} found as {@code name} in directory {@code dirIno}; counts one kernel
     * lookup. A transaction's node that shares a live node's number binds that live node too, as
     * the number is that node's in the live view whichever view looked it up first: the live view,
     * and a later transaction through {@link #bindLazily}, then find their node at it instead of
     * answering ESTALE. The kernel retries a path walk only once, and a divergence may need it.
     */
    private Entry entry(View v, long dirIno, byte[] name, MutableNode n) {
        long ino = inoOf(v, n);
        Inode rec = inodes.computeIfAbsent(ino, Inode::new);
        rec.bind(v, n);
        if (rec.live == null) {
            rec.live = liveOwner(v, n, ino);
        }
        rec.lookups++;
        long entryValid = nameDiverged(dirIno, name) ? 0 : VALID_NS;
        return new Entry(ino, 0, attr(v, n), entryValid, attrValidWithLock(ino));
    }

    /** A reply entry for a node just made or linked in {@code v} as {@code name} (a changed name). */
    private Entry madeEntry(View v, long dirIno, byte[] name, MutableNode n) {
        nameChanged(v, dirIno, name);
        return entry(v, dirIno, name, n);
    }

    /** Marks {@code n} as having no name left in its view if so (after unlink, rmdir, or a rename over it). */
    private void noteIfOrphaned(View v, MutableNode n) throws IOException {
        if (n != null && v.tree.pathOf(n).isEmpty()) {
            orphans.add(n);
            dropIfUnreachable(v, n);
        }
    }

    /**
     * Empties a file nothing can reach any more (no name, no open handle), so that its data is not
     * written out as chunks at the next sync only to be unreferenced.
     */
    private void dropIfUnreachable(View v, MutableNode n) throws IOException {
        if (n instanceof File f && f.size() > 0 && orphans.contains(f)) {
            for (Handle h : handles.values()) {
                if (h.node == f) {
                    return;
                }
            }
            v.tree.truncate(f, 0);
        }
    }

    // ---- namespace ----------------------------------------------------------------------------

    @Override
    public Entry lookup(Caller c, long parent, byte[] name) throws IOException {
        if (parent == ROOT && java.util.Arrays.equals(name, CTL_DIR_NAME)) {
            return new Entry(CTL_DIR, 0, control.dirAttr(), VALID_NS, VALID_NS);
        }
        if (parent == CTL_DIR) {
            return control.lookup(name);
        }
        synchronized (lock) {
            View v = viewOf(c);
            Dir d = dir(v, parent);
            if (name.length > 255) {
                throw new TreeExceptions.NameTooLongException(new String(name));
            }
            MutableNode n = v.tree.lookup(d, name).orElseThrow(() -> new NoSuchFileException(new String(name)));
            return entry(v, parent, name, n);
        }
    }

    @Override
    public void forget(long ino, long nlookup) {
        synchronized (lock) {
            if (ino == ROOT || ino >= CTL_DIR) {
                return;
            }
            Inode rec = inodes.get(ino);
            if (rec != null && (rec.lookups -= nlookup) <= 0) {
                inodes.remove(ino);
            }
        }
    }

    private Handle handleOrNull(long fh) {
        return fh >= 0 ? handles.get(fh) : null;
    }

    @Override
    public Attr getattr(Caller c, long ino, long fh) throws IOException {
        if (ino >= CTL_DIR) {
            return ino == CTL ? control.fileAttr() : control.dirAttr();
        }
        synchronized (lock) {
            Handle h = handleOrNull(fh);
            if (h != null && h.node != null) {
                return attr(h.view, h.node);
            }
            View v = viewOf(c);
            return attr(v, node(v, ino));
        }
    }

    @Override
    public Attr setattr(Caller c, long ino, long fh, SetAttr s) throws IOException {
        if (ino >= CTL_DIR) {
            throw new FsException(Kind.PERMISSION, "the control file's attributes are fixed");
        }
        return withLiveDivergence(prepared -> {
            Handle h = handleOrNull(fh);
            View v = h != null && h.node != null ? h.view : viewOf(c);
            MutableNode n = h != null && h.node != null ? h.node : node(v, ino);
            checkWritable(v);
            checkOpen(v);
            prepareChange(v, inoOf(v, n), n, prepared);
            MutableTree tree = v.tree;
            boolean hidden = hides(v, n); // the kernel saw no privileges to clear
            if (s.size() != null) {
                if (!(n instanceof File f)) {
                    throw n instanceof Dir
                            ? new TreeExceptions.IsDirectoryException("inode " + ino)
                            : new FsException(Kind.INVALID, "truncate of a " + n.kind());
                }
                if (hidden && c.uid() != 0) {
                    dropPrivileges(tree, f);
                }
                tree.truncate(f, s.size());
            }
            long now = clock.getAsLong();
            Long mtime = s.mtimeNow() ? (Long) now : s.mtimeNs();
            Long atime = s.atimeNow() ? (Long) now : s.atimeNs();
            if (s.mode() != null || s.uid() != null || s.gid() != null || mtime != null || atime != null) {
                tree.setAttributes(n, s.mode() == null ? null : s.mode() & 07777, s.uid(), s.gid(), mtime);
            }
            if (hidden && n instanceof File f && s.mode() == null && (s.uid() != null || s.gid() != null)) {
                dropPrivileges(tree, f);
            }
            if (atime != null && atime != n.mtimeNs()) {
                atimes.put(n, atime);
            } else if (atime != null) {
                atimes.remove(n); // the default: keep the map to atimes that differ
            }
            if (s.mode() != null) {
                chmodAcl(tree, n, s.mode() & 07777);
            }
            return attr(v, n);
        });
    }

    /**
     * A write or truncate by a user other than root, or a chown, of a node served restricted: the
     * kernel clears the setuid bit, the setgid bit of a group-executable file and file capabilities
     * then (should_remove_suid, cap_inode_killpriv), but it sees none of them there ({@link
     * #hides}), so they are cleared here; else a commit could carry a setuid file some user
     * changed.
     */
    /** {@link #dropPrivileges} for a content change (write, fallocate) by a user other than root. */
    private void dropHiddenPrivilegesWithLock(Caller c, View v, File f) throws IOException {
        if (c.uid() != 0 && hides(v, f)) {
            dropPrivileges(v.tree, f);
        }
    }

    private static void dropPrivileges(MutableTree tree, File f) throws IOException {
        int mode = f.mode();
        int kill = S_ISUID | ((mode & 010) != 0 ? S_ISGID : 0);
        if ((mode & kill) != 0) {
            tree.setAttributes(f, mode & ~kill, null, null, null);
        }
        if (f.xattrs().containsKey(CAPABILITY)) {
            tree.removeXattr(f, CAPABILITY);
        }
    }

    /** Writes to a closed (committed or aborted) transaction's handle are refused. */
    private static void checkOpen(View v) throws FsException {
        if (v.closed()) {
            throw new FsException(Kind.STALE, v.txn + " has ended");
        }
    }

    @Override
    public byte[] readlink(Caller c, long ino) throws IOException {
        synchronized (lock) {
            View v = viewOf(c);
            if (!(node(v, ino) instanceof Special s) || s.kind() != EntryKind.SYMLINK) {
                throw new FsException(Kind.INVALID, "not a symlink");
            }
            return s.target();
        }
    }

    /** Owner of a new node: the caller, with the group of a setgid parent. */
    private long groupFor(Caller c, Dir parent) {
        return (parent.mode() & S_ISGID) != 0 ? parent.gid() : c.gid();
    }

    /** The mode and ACLs of a new node: from the parent's default ACL if it has one, else mode & ~umask. */
    private record NewNode(int mode, byte[] accessAcl, byte[] defaultAcl) {
        void applyTo(MutableTree tree, MutableNode n) throws IOException {
            if (accessAcl != null) {
                tree.setXattr(n, PosixAcl.ACCESS, accessAcl, XattrMode.ANY);
            }
            if (defaultAcl != null) {
                tree.setXattr(n, PosixAcl.DEFAULT, defaultAcl, XattrMode.ANY);
            }
        }
    }

    private static NewNode newNode(Dir parent, int mode, int umask, boolean isDir) throws FsException {
        byte[] inherited = parent.xattrs().get(PosixAcl.DEFAULT);
        if (inherited == null) {
            return new NewNode(mode & ~(umask & 0777), null, null);
        }
        PosixAcl.Inherited in = PosixAcl.decode(inherited).inherit(mode);
        return new NewNode(in.mode(), in.access() == null ? null : in.access().encode(), isDir ? inherited : null);
    }

    /** chmod of a node with an access ACL: the ACL's owner, mask (or group) and other entries follow. */
    private static void chmodAcl(MutableTree tree, MutableNode n, int mode) throws IOException {
        Optional<byte[]> acl = tree.getXattr(n, PosixAcl.ACCESS);
        if (acl.isPresent()) {
            tree.setXattr(
                    n, PosixAcl.ACCESS, PosixAcl.decode(acl.get()).chmod(mode).encode(), XattrMode.ANY);
        }
    }

    /** The view and directory a name-changing request works in, after the common checks. */
    private record Target(View v, Dir d) {}

    private Target target(Caller c, long parent, byte[] name) throws IOException {
        if (parent >= CTL_DIR || (parent == ROOT && java.util.Arrays.equals(name, CTL_DIR_NAME))) {
            throw new FsException(Kind.PERMISSION, "/.txfs is the control directory");
        }
        View v = viewOf(c);
        checkWritable(v);
        return new Target(v, dir(v, parent));
    }

    @Override
    public Entry mknod(Caller c, long parent, byte[] name, int mode, long rdev, int umask) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            int fmt = mode & S_IFMT;
            NewNode nn = newNode(t.d(), mode, umask, false);
            MutableNode made;
            if (fmt == 0100000 || fmt == 0) {
                made = t.v().tree.createFile(t.d(), name, nn.mode(), c.uid(), groupFor(c, t.d()));
            } else {
                EntryKind kind = EntryKind.ofMode(mode);
                if (kind == EntryKind.DIRECTORY || kind == EntryKind.SYMLINK) {
                    throw new FsException(Kind.INVALID, "mknod of a " + kind);
                }
                made = t.v().tree.mknod(t.d(), name, kind, nn.mode(), rdev, c.uid(), groupFor(c, t.d()));
            }
            nn.applyTo(t.v().tree, made);
            return madeEntry(t.v(), parent, name, made);
        }
    }

    @Override
    public Entry mkdir(Caller c, long parent, byte[] name, int mode, int umask) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            NewNode nn = newNode(t.d(), mode & 07777, umask, true);
            int m = nn.mode() | (t.d().mode() & S_ISGID);
            Dir made = t.v().tree.mkdir(t.d(), name, m, c.uid(), groupFor(c, t.d()));
            nn.applyTo(t.v().tree, made);
            return madeEntry(t.v(), parent, name, made);
        }
    }

    @Override
    public Entry symlink(Caller c, long parent, byte[] name, byte[] target) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            return madeEntry(t.v(), parent, name, t.v().tree.symlink(t.d(), name, target, c.uid(), groupFor(c, t.d())));
        }
    }

    @Override
    public Entry link(Caller c, long ino, long newParent, byte[] newName) throws IOException {
        return withLiveDivergence(prepared -> {
            Target t = target(c, newParent, newName);
            MutableNode n = node(t.v(), ino);
            prepareChange(t.v(), ino, n, prepared);
            t.v().tree.link(n, t.d(), newName);
            return madeEntry(t.v(), newParent, newName, n);
        });
    }

    @Override
    public void unlink(Caller c, long parent, byte[] name) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            MutableNode gone = t.v().tree.lookup(t.d(), name).orElse(null);
            if (t.v().isLive()) {
                beforeLiveRemove(gone);
            }
            t.v().tree.unlink(t.d(), name);
            nameChanged(t.v(), parent, name);
            noteIfOrphaned(t.v(), gone);
        }
    }

    @Override
    public void rmdir(Caller c, long parent, byte[] name) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            MutableNode gone = t.v().tree.lookup(t.d(), name).orElse(null);
            if (givesUpSharedDir(t.v(), gone)) {
                retryOnOwnDirs(t.v(), parent, name, parent, name);
            }
            t.v().tree.rmdir(t.d(), name);
            nameChanged(t.v(), parent, name);
            noteIfOrphaned(t.v(), gone);
        }
    }

    @Override
    public void rename(Caller c, long parent, byte[] name, long newParent, byte[] newName, int flags)
            throws IOException {
        RenameMode mode =
                switch (flags) {
                    case 0 -> RenameMode.REPLACE;
                    case 1 -> RenameMode.NOREPLACE;
                    case 2 -> RenameMode.EXCHANGE;
                    default -> throw new FsException(Kind.INVALID, "rename flags " + flags);
                };
        synchronized (lock) {
            Target to = target(c, newParent, newName);
            View v = to.v();
            Dir from = dir(v, parent);
            if (parent == ROOT && java.util.Arrays.equals(name, CTL_DIR_NAME)) {
                throw new FsException(Kind.PERMISSION, "/.txfs is the control directory");
            }
            if (!v.isLive()) {
                boolean gaveUp = givesUpSharedDir(v, v.tree.lookup(from, name).orElse(null));
                if (mode != RenameMode.NOREPLACE) {
                    gaveUp |= givesUpSharedDir(v, v.tree.lookup(to.d(), newName).orElse(null));
                }
                if (gaveUp) {
                    retryOnOwnDirs(v, parent, name, newParent, newName);
                }
            }
            if (!txns.isEmpty() && (!nameDiverged(parent, name) || !nameDiverged(newParent, newName))) {
                // The kernel moves the dentry it holds, keeping its validity: make both names
                // uncached first, and let the kernel's retry look them up again.
                nameChanged(v, parent, name);
                nameChanged(v, newParent, newName);
                throw new FsException(Kind.STALE, "names now differ between views; look them up again");
            }
            MutableNode replaced =
                    mode == RenameMode.REPLACE ? v.tree.lookup(to.d(), newName).orElse(null) : null;
            if (v.isLive()) {
                beforeLiveRemove(replaced);
            }
            v.tree.rename(from, name, to.d(), newName, mode);
            nameChanged(v, parent, name);
            nameChanged(v, newParent, newName);
            noteIfOrphaned(v, replaced);
        }
    }

    /**
     * Before transaction {@code v} moves or removes directory {@code n} (or renames over it): if it
     * shares the live directory's number, it and every directory below it get numbers of their own
     * (also if the request then fails), so that the kernel moves or kills the transaction's inode,
     * not the one the live tree goes on using at the old place. Returns whether it did.
     */
    private boolean givesUpSharedDir(View v, MutableNode n) {
        if (v.isLive() || !(n instanceof Dir)) {
            return false;
        }
        long ino = inoOf(v, n);
        if (ino == n.serial() + 1) {
            return false;
        }
        v.ownDirs.add(n);
        unshareDir(v, n, ino);
        return true;
    }

    /** After {@link #givesUpSharedDir}: the kernel's retry (LOOKUP_REVAL) looks both names up again. */
    private void retryOnOwnDirs(View v, long parent, byte[] name, long newParent, byte[] newName) throws FsException {
        nameChanged(v, parent, name);
        nameChanged(v, newParent, newName);
        throw new FsException(Kind.STALE, "a directory shared with the live tree gets its own inode; look it up again");
    }

    // ---- files --------------------------------------------------------------------------------

    private long newHandle(View v, MutableNode n, int flags, List<DirEntry> listing) {
        long fh = nextFh++;
        Handle h = new Handle(v, n, flags, listing, null);
        handles.put(fh, h);
        if (h.writable() && n != null) {
            writers.merge(n, 1, Integer::sum);
        }
        return fh;
    }

    private Handle handle(long fh) throws FsException {
        Handle h = handles.get(fh);
        if (h == null) {
            throw new FsException(Kind.BAD_HANDLE, "no open handle " + fh);
        }
        return h;
    }

    @Override
    public Opened open(Caller c, long ino, int flags) throws IOException {
        if (ino == CTL) {
            synchronized (lock) {
                long fh = nextFh++;
                handles.put(fh, new Handle(liveView, null, flags, null, new TxnControl.Exchange(c.uid())));
                return new Opened(fh, false, true);
            }
        }
        return withLiveDivergence(prepared -> {
            View v = viewOf(c);
            MutableNode n = node(v, ino);
            if (n instanceof Dir) {
                throw new TreeExceptions.IsDirectoryException("inode " + ino);
            }
            if ((flags & O_ACCMODE) != 0 || (flags & O_TRUNC) != 0) {
                checkWritable(v);
                prepareChange(v, ino, n, prepared);
            }
            return new Opened(newHandle(v, n, flags, null), true, false);
        });
    }

    @Override
    public Created create(Caller c, long parent, byte[] name, int mode, int flags, int umask) throws IOException {
        synchronized (lock) {
            Target t = target(c, parent, name);
            NewNode nn = newNode(t.d(), mode, umask, false);
            File f = t.v().tree.createFile(t.d(), name, nn.mode(), c.uid(), groupFor(c, t.d()));
            nn.applyTo(t.v().tree, f);
            Entry e = madeEntry(t.v(), parent, name, f);
            return new Created(e, newHandle(t.v(), f, flags, null), true);
        }
    }

    @Override
    public int read(Caller c, long ino, long fh, long offset, ByteBuffer dst) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            if (h.control != null) {
                return h.control.read(offset, dst);
            }
            if (!(h.node instanceof File f)) {
                throw new FsException(Kind.INVALID, "read of a non-file");
            }
            byte[] buf = new byte[dst.remaining()];
            int n = h.view.tree.read(f, offset, buf, 0, buf.length);
            dst.put(buf, 0, n);
            return n;
        }
    }

    @Override
    public int write(Caller c, long ino, long fh, long offset, ByteBuffer src) throws IOException {
        TxnControl.Exchange ex;
        synchronized (lock) {
            Handle h = handle(fh);
            ex = h.control;
            if (ex == null) {
                if (!(h.node instanceof File f)) {
                    throw new FsException(Kind.INVALID, "write to a non-file");
                }
                checkOpen(h.view);
                if (requireTxn && h.view.isLive()) {
                    // Only a handle opened in a transaction can write here, and it has ended: refused
                    // also for the kernel's write-out of a shared mapping (pid 0), whose pages were
                    // dirtied after the commit (it wrote out those dirtied before, see
                    // writeBackTransactionPages). The kernel's page cache then holds bytes the tree
                    // does not: drop it (after this reply, from the notification thread).
                    notifier.invalidateInode(ino, 0, 0);
                    checkWritable(h.view);
                }
                dropHiddenPrivilegesWithLock(c, h.view, f);
                int len = src.remaining();
                byte[] buf = new byte[len];
                src.get(buf);
                // The offset is the kernel's, also for O_APPEND (it resolved the end under the inode
                // lock), and a page write-out of a shared mapping may come on an O_APPEND handle.
                h.view.tree.write(f, offset, buf, 0, len);
                return len;
            }
        }
        return control.write(ex, c, src); // runs requests without holding the lock throughout
    }

    @Override
    public void release(long ino, long fh) throws IOException {
        synchronized (lock) {
            Handle h = handles.remove(fh);
            if (h != null && h.node != null) {
                if (h.writable()) {
                    writers.computeIfPresent(h.node, (k, n) -> n > 1 ? n - 1 : null);
                }
                dropIfUnreachable(h.view, h.node);
            }
        }
    }

    @Override
    public void fsync(long ino, long fh, boolean datasync) throws IOException {
        View v;
        synchronized (lock) {
            Handle h = handles.get(fh);
            v = h == null ? liveView : h.view;
        }
        if (v.isLive()) {
            live.sync(); // a transaction's data is durable at commit, not before
        }
    }

    @Override
    public Opened opendir(Caller c, long ino) throws IOException {
        if (ino == CTL_DIR) {
            synchronized (lock) {
                long fh = nextFh++;
                handles.put(fh, new Handle(liveView, null, 0, control.listing(), null));
                return new Opened(fh, false, false);
            }
        }
        synchronized (lock) {
            View v = viewOf(c);
            Dir d = dir(v, ino);
            List<DirEntry> listing = new ArrayList<>();
            listing.add(new DirEntry(".".getBytes(), ino, d.stMode(), 1, null));
            long parentIno = d.parent() == null ? ino : inoOf(v, d.parent());
            listing.add(new DirEntry("..".getBytes(), parentIno, 040755, 2, null));
            long off = 3;
            for (var e : v.tree.list(d).entrySet()) {
                if (d == v.tree.root() && java.util.Arrays.equals(e.getKey(), CTL_DIR_NAME)) {
                    continue; // shadowed by the control directory
                }
                listing.add(new DirEntry(e.getKey(), 0, e.getValue().stMode(), off++, null));
            }
            return new Opened(newHandle(v, d, 0, listing), true, false);
        }
    }

    @Override
    public List<DirEntry> readdir(Caller c, long ino, long fh, long offset, int max, boolean plus) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            if (h.node == null) { // the control directory
                List<DirEntry> out = new ArrayList<>();
                for (int i = (int) Math.max(0, offset); i < h.listing.size() && out.size() < max; i++) {
                    out.add(h.listing.get(i));
                }
                return out;
            }
            Dir d = (Dir) h.node;
            View v = h.view;
            long dirIno = inoOf(v, d);
            List<DirEntry> out = new ArrayList<>();
            for (int i = (int) Math.max(0, offset); i < h.listing.size() && out.size() < max; i++) {
                DirEntry e = h.listing.get(i);
                boolean dot = i < 2;
                MutableNode n = dot ? null : v.tree.lookup(d, e.name()).orElse(null);
                if (!dot && n == null) {
                    continue; // removed since opendir
                }
                Entry full = plus && !dot ? entry(v, dirIno, e.name(), n) : null;
                long eino = dot ? e.ino() : full != null ? full.ino() : inoOf(v, n);
                out.add(new DirEntry(e.name(), eino, dot ? e.mode() : n.stMode(), e.nextOffset(), full));
            }
            return out;
        }
    }

    @Override
    public void releasedir(long ino, long fh) {
        synchronized (lock) {
            handles.remove(fh);
        }
    }

    @Override
    public StatFs statfs() throws IOException {
        return statfs.get();
    }

    // ---- xattrs -------------------------------------------------------------------------------

    private static XattrMode xattrMode(int flags) throws FsException {
        return switch (flags) {
            case 0 -> XattrMode.ANY;
            case 1 -> XattrMode.CREATE;
            case 2 -> XattrMode.REPLACE;
            default -> throw new FsException(Kind.INVALID, "setxattr flags " + flags);
        };
    }

    private static void checkNamespace(String name) throws FsException {
        if (!(name.startsWith("user.")
                || name.startsWith("trusted.")
                || name.startsWith("security.")
                || name.equals("system.posix_acl_access")
                || name.equals("system.posix_acl_default"))) {
            throw new FsException(Kind.NOT_SUPPORTED, "xattr namespace of " + name);
        }
    }

    @Override
    public void setxattr(Caller c, long ino, String name, byte[] value, int flags) throws IOException {
        checkNamespace(name);
        if (ino >= CTL_DIR) {
            throw new FsException(Kind.PERMISSION, "the control file has no attributes to set");
        }
        withLiveDivergence(prepared -> {
            View v = viewOf(c);
            MutableNode n = node(v, ino);
            checkWritable(v);
            checkXattrSpace(n, name, value);
            prepareChange(v, ino, n, prepared);
            MutableTree tree = v.tree;
            if (name.equals(PosixAcl.ACCESS)) {
                // The ACL sets the mode; one that says no more than the mode is not kept (as in-kernel filesystems do).
                PosixAcl acl = PosixAcl.decode(value);
                tree.setAttributes(n, acl.applyTo(n.mode()), null, null, null);
                if (!acl.isMinimal()) {
                    tree.setXattr(n, name, value, XattrMode.ANY);
                } else if (tree.getXattr(n, name).isPresent()) {
                    tree.removeXattr(n, name);
                }
            } else if (name.equals(PosixAcl.DEFAULT)) {
                if (!(n instanceof Dir)) {
                    throw new FsException(Kind.ACCESS, "a default ACL on a non-directory");
                }
                if (!PosixAcl.decode(value).isEmpty()) {
                    tree.setXattr(n, name, value, XattrMode.ANY);
                } else if (tree.getXattr(n, name).isPresent()) {
                    tree.removeXattr(n, name);
                }
            } else {
                tree.setXattr(n, name, value, xattrMode(flags));
            }
            return null;
        });
    }

    /** ENOSPC if setting {@code name} to {@code value} would take {@code n} past {@link #MAX_XATTR_BYTES}. */
    private static void checkXattrSpace(MutableNode n, String name, byte[] value) throws FsException {
        long total = 0;
        for (Map.Entry<String, byte[]> e : n.xattrs().entrySet()) {
            if (!e.getKey().equals(name)) {
                total += xattrBytes(e.getKey(), e.getValue());
            }
        }
        if (total + xattrBytes(name, value) > MAX_XATTR_BYTES) {
            throw new FsException(
                    Kind.NO_SPACE,
                    "extended attributes of a node are limited to " + MAX_XATTR_BYTES + " bytes (names and values)");
        }
    }

    private static long xattrBytes(String name, byte[] value) {
        return name.getBytes(UTF_8).length + (long) value.length;
    }

    @Override
    public byte[] getxattr(Caller c, long ino, String name) throws IOException {
        if (ino >= CTL_DIR) {
            throw new TreeExceptions.NoSuchAttributeException("/.txfs", name);
        }
        synchronized (lock) {
            View v = viewOf(c);
            MutableNode n = node(v, ino);
            return v.tree.getXattr(n, name)
                    .filter(x -> servedIn(hides(v, n), name))
                    .orElseThrow(() -> new TreeExceptions.NoSuchAttributeException("inode " + ino, name));
        }
    }

    @Override
    public List<String> listxattr(Caller c, long ino) throws IOException {
        if (ino >= CTL_DIR) {
            return List.of();
        }
        synchronized (lock) {
            View v = viewOf(c);
            MutableNode node = node(v, ino);
            List<String> names = v.tree.listXattrs(node);
            boolean trusted = c.uid() == 0; // trusted.* is for CAP_SYS_ADMIN only (root stands in for it)
            boolean hidden = hides(v, node);
            return names.stream()
                    .filter(n -> (trusted || !n.startsWith("trusted.")) && servedIn(hidden, n))
                    .toList();
        }
    }

    @Override
    public void removexattr(Caller c, long ino, String name) throws IOException {
        if (ino >= CTL_DIR) {
            throw new FsException(Kind.PERMISSION, "the control file has no attributes to remove");
        }
        withLiveDivergence(prepared -> {
            View v = viewOf(c);
            MutableNode n = node(v, ino);
            boolean acl = name.equals(PosixAcl.ACCESS) || name.equals(PosixAcl.DEFAULT);
            if (acl && v.tree.getXattr(n, name).isEmpty()) {
                return null; // removing an ACL that is not there succeeds (libacl relies on it)
            }
            checkWritable(v);
            prepareChange(v, ino, n, prepared);
            v.tree.removeXattr(n, name);
            return null;
        });
    }

    @Override
    public void access(Caller c, long ino, int mask) throws IOException {
        if (ino >= CTL_DIR) {
            return;
        }
        synchronized (lock) {
            node(viewOf(c), ino);
        }
    }

    @Override
    public void fallocate(Caller c, long ino, long fh, int mode, long offset, long length) throws IOException {
        if (offset < 0 || length <= 0) {
            throw new FsException(Kind.INVALID, "fallocate range");
        }
        synchronized (lock) {
            Handle h = handle(fh);
            if (!(h.node instanceof File f)) {
                throw new FsException(Kind.INVALID, "fallocate of a non-file");
            }
            checkOpen(h.view);
            checkWritable(h.view);
            dropHiddenPrivilegesWithLock(c, h.view, f);
            MutableTree tree = h.view.tree;
            switch (mode) {
                case 0 -> { // allocate: the range reads as it did, the size grows to cover it
                    if (offset + length > f.size()) {
                        tree.truncate(f, offset + length);
                    }
                }
                case 1 -> {} // KEEP_SIZE: nothing to reserve in a content-addressed store
                case 3 -> { // PUNCH_HOLE | KEEP_SIZE: zeros over the range, size unchanged
                    long end = Math.min(f.size(), offset + length);
                    for (long at = offset; at < end; ) {
                        int n = (int) Math.min(1 << 20, end - at);
                        tree.write(f, at, new byte[n], 0, n);
                        at += n;
                    }
                }
                default -> throw new FsException(Kind.NOT_SUPPORTED, "fallocate mode " + mode);
            }
        }
    }

    @Override
    public long lseek(Caller c, long ino, long fh, long offset, int whence) throws IOException {
        synchronized (lock) {
            MutableNode n = handle(fh).node;
            if (n == null) {
                throw new FsException(Kind.INVALID, "lseek on the control file");
            }
            return seekDataOrHole(n.size(), offset, whence);
        }
    }

    /** SEEK_DATA and SEEK_HOLE: no holes are tracked, so the whole file is data and its end the hole. */
    static long seekDataOrHole(long size, long offset, int whence) throws FsException {
        if (offset < 0 || offset >= size) {
            throw new FsException(Kind.NO_SUCH_OFFSET, "offset past the end");
        }
        return switch (whence) {
            case 3 -> offset; // SEEK_DATA
            case 4 -> size; // SEEK_HOLE
            default -> throw new FsException(Kind.INVALID, "lseek whence " + whence);
        };
    }

    // ---- ending transactions ------------------------------------------------------------------

    /**
     * Before transaction {@code v} commits (or {@code txfs run} ends it): the kernel writes out the
     * dirty pages of {@code v}'s files open for writing (INVAL_INODE from offset 0 launders dirty
     * pages, shared mappings' included, through WRITE requests), and this waits (bounded) until it
     * has. So the commit holds what was written through a mapping before it, and on a {@code
     * --require-txn} mount nothing written later through such a handle reaches the live tree (those
     * writes are refused, see {@link #write}). Pages dirtied while the commit runs may land on either
     * side of it, as a write(2) racing the commit does. Other transactions' files are left alone: a
     * commit neither flushes nor waits for pages it does not take.
     *
     * <p>Locking: call without the lock; the write-outs need it.
     */
    public void writeBackTransactionPages(View v) {
        Set<Long> inos = new HashSet<>();
        synchronized (lock) {
            for (Handle h : handles.values()) {
                if (h.view == v && h.node instanceof File && h.writable() && !v.isLive() && !v.closed()) {
                    inos.add(inoOf(v, h.node));
                }
            }
        }
        if (inos.isEmpty()) {
            return;
        }
        for (long ino : inos) {
            notifier.invalidateInode(ino, 0, 0);
        }
        notifier.await();
    }

    /**
     * After {@code v}'s transaction committed (result {@code r}) or aborted (r null): its view
     * closes; on commit the kernel's inodes and open handles of the transaction move to the live
     * nodes now at their paths. The caller holds the lock; notifications are queued.
     */
    void closeView(View v, LiveTree.CommitResult r) throws IOException {
        txns.remove(v.txn.id());
        HeapGuard.released();
        if (r != null) {
            liveChanged(r);
        }
        for (Inode rec : inodes.values()) {
            MutableNode t = rec.txns.remove(v);
            if (t == null || r == null) {
                continue;
            }
            MutableNode l = livePeer(v, t);
            if (l != null
                    && !restrictedOnly(v, l)
                    && rec.live == null
                    && l.attachedSeq() >= r.reloadSeq()
                    && !liveView.inos.containsKey(l)
                    && !inodes.containsKey(l.serial() + 1)) {
                liveView.inos.put(l, rec.ino);
                rec.live = l;
            }
        }
        for (Handle h : handles.values()) {
            if (h.view != v || h.node == null) {
                continue;
            }
            MutableNode l = r == null ? null : livePeer(v, h.node);
            if (l != null) {
                if (h.writable()) {
                    writers.computeIfPresent(h.node, (k, n) -> n > 1 ? n - 1 : null);
                    writers.merge(l, 1, Integer::sum);
                }
                h.view = liveView;
                h.node = l;
            }
        }
        if (txns.isEmpty()) {
            liveChangedNames.clear();
        } else {
            long oldest =
                    txns.values().stream().mapToLong(x -> x.txn.baseSeq()).min().orElse(0);
            liveChangedNames.values().removeIf(seq -> seq <= oldest);
        }
    }

    /**
     * Whether live node {@code l}, which a commit of {@code v} put at its place, looks different in
     * {@code v}: a device node or a setuid/setgid file served restricted there (the whole view, or
     * as a node {@link #hides} would not show the live tree's version of). The kernel keeps the
     * device number it first got for an inode and caches the mode, so the transaction's inode must
     * not become the live one: the live tree's names lead to a number of its own.
     */
    private static boolean restrictedOnly(View v, MutableNode l) {
        Transaction.Credentials creds = v.txn.creds();
        return (v.restricted() || creds.uid() != 0 && Privileges.grantsBeyond(l, creds))
                && (l instanceof Special s && s.rdev() != 0 || l instanceof File && (l.mode() & SET_ID_BITS) != 0);
    }

    /** After the live tree took a commit's changes: the kernel forgets the names that changed. */
    private void liveChanged(LiveTree.CommitResult r) {
        for (var ch : r.applied()) {
            List<byte[]> seg = ch.segments();
            if (seg.isEmpty()) {
                continue;
            }
            Optional<MutableNode> parent = findSegments(live.tree(), seg.subList(0, seg.size() - 1));
            if (parent.isPresent()) {
                long dirIno = inoOf(liveView, parent.get());
                nameChanged(liveView, dirIno, seg.get(seg.size() - 1));
                notifier.invalidateEntry(dirIno, seg.get(seg.size() - 1));
                notifier.invalidateInode(dirIno, -1, 0);
            }
        }
    }

    /**
     * {@code txfs rollback}: the live tree becomes {@code snapshot}'s tree under the lock, and the
     * kernel drops what it cached of the names that changed before any other request is served.
     * Open transactions keep their views (see {@link LiveTree#rollback}).
     */
    public LiveTree.CommitResult rollback(ObjectId snapshot, String author, String message) throws IOException {
        return replaceLive(() -> live.rollback(snapshot, author, message));
    }

    private interface LiveChange {
        LiveTree.CommitResult apply() throws IOException;
    }

    /** Runs a change of the whole live tree under the lock, then drops the kernel's names it changed. */
    private LiveTree.CommitResult replaceLive(LiveChange change) throws IOException {
        synchronized (lock) {
            LiveTree.CommitResult r = change.apply();
            liveChanged(r);
            HeapGuard.released();
            return r;
        }
    }

    /**
     * {@code txfs abort --mount} of an isolated mount: its tree becomes {@code root} (its base) under
     * the lock, and the kernel drops the names that changed, as after {@link #rollback}.
     */
    public LiveTree.CommitResult resetTo(ObjectId root) throws IOException {
        return replaceLive(() -> live.resetTo(root));
    }

    /**
     * Merges a run kept by {@code txfs run --keep} into the live tree ({@link LiveTree#commitKept}),
     * and the kernel drops what it cached of the names that changed, as after {@link #rollback}.
     */
    public LiveTree.CommitResult commitKept(ObjectId kept, String author, String message) throws IOException {
        return replaceLive(() -> live.commitKept(kept, author, message));
    }

    /** {@link #commitKept(ObjectId, String, String)}, refused as {@code check} says ({@link LiveTree#commitKept}). */
    public LiveTree.CommitResult commitKept(ObjectId kept, String author, String message, LiveTree.CommitCheck check)
            throws IOException {
        return replaceLive(() -> live.commitKept(kept, author, message, check));
    }

    /** The live node now at the path {@code t} has in view {@code v}, if of the same kind. */
    private MutableNode livePeer(View v, MutableNode t) {
        Optional<String> p = v.tree.pathOf(t);
        MutableNode l = p.flatMap(path -> live.tree().find(path)).orElse(null);
        return l != null && l.kind() == t.kind() ? l : null;
    }

    static Optional<MutableNode> findSegments(MutableTree tree, List<byte[]> segments) {
        MutableNode n = tree.root();
        for (byte[] s : segments) {
            if (!(n instanceof Dir d)) {
                return Optional.empty();
            }
            Optional<MutableNode> next = tree.lookup(d, s);
            if (next.isEmpty()) {
                return Optional.empty();
            }
            n = next.get();
        }
        return Optional.of(n);
    }

    @Override
    public void destroy() {
        onDestroy.run();
    }
}
