package dev.txfs.txn;

import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.txn.proc.ProcInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * One open transaction: a private {@link MutableTree} over the live state as it was at {@code
 * txfs begin} (its base), plus who owns it. Reads see base + own changes; writes stay in this tree
 * (file data spills into unreferenced chunks in the store) until {@link LiveTree#commit} merges them.
 *
 * <p>Locking: like the live tree, every access to {@link #tree()} holds {@link LiveTree#lock()}.
 */
public final class Transaction {
    public enum State {
        OPEN,
        COMMITTED,
        ABORTED,
        /** Recorded as a snapshot under a ref by {@link LiveTree#keep}, not merged. */
        KEPT
    }

    /**
     * Who a transaction acts as: the user, group and supplementary groups of the process that began
     * it, as the kernel saw them then. Its commit is checked against the live tree's permissions with
     * these (see {@link LiveTree.CommitCheck}); root's ({@code uid} 0) are not checked.
     */
    public record Credentials(long uid, long gid, Set<Long> groups) {
        public Credentials {
            TreeSet<Long> all = new TreeSet<>(groups);
            if (gid >= 0) {
                all.add(gid);
            }
            groups = Collections.unmodifiableSet(all);
        }

        /** Just a user and its group, no supplementary groups ({@code gid} -1: none). */
        public static Credentials of(long uid, long gid) {
            return new Credentials(uid, gid, Set.of());
        }

        public boolean isRoot() {
            return uid == 0;
        }

        /** Whether {@code g} is the group or one of the supplementary groups. */
        public boolean inGroup(long g) {
            return groups.contains(g);
        }

        /**
         * {@code uid} and {@code gid} (the kernel's fsuid and fsgid of a request) with the
         * supplementary groups of thread {@code tid} from {@code /proc/<tid>/status}. A thread that
         * has gone meanwhile gives none: the check then only knows {@code gid}, which refuses more,
         * never less.
         */
        public static Credentials ofThread(long tid, long uid, long gid) throws IOException {
            try {
                return ProcInfo.groups(tid)
                        .map(groups -> new Credentials(uid, gid, groups))
                        .orElseGet(() -> of(uid, gid));
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }

        /** {@code UID:GID:G1,G2,...}, as {@link #decode} reads it (a control socket request field). */
        public String encode() {
            StringBuilder b =
                    new StringBuilder().append(uid).append(':').append(gid).append(':');
            groups.forEach(g -> b.append(g).append(','));
            return b.toString();
        }

        /** Reads {@link #encode()}'s form; malformed is IllegalArgumentException. */
        public static Credentials decode(String s) {
            String[] f = s.split(":", -1);
            if (f.length != 3) {
                throw new IllegalArgumentException("malformed credentials " + s);
            }
            Set<Long> groups = new TreeSet<>();
            for (String g : f[2].split(",")) {
                if (!g.isEmpty()) {
                    groups.add(Long.parseLong(g));
                }
            }
            return new Credentials(Long.parseLong(f[0]), Long.parseLong(f[1]), groups);
        }
    }

    private final String id;
    private final MutableTree tree;
    private final ObjectId baseRoot;
    private final ObjectId baseSnapshot;
    private final long baseSeq;
    private final long startedNs;
    private final Credentials creds;
    private final long rootPid;
    private final String rootCommand;
    private final String message;
    private final boolean ownBase;
    private State state = State.OPEN;

    Transaction(
            String id,
            MutableTree tree,
            ObjectId baseRoot,
            ObjectId baseSnapshot,
            long baseSeq,
            long startedNs,
            Credentials creds,
            long rootPid,
            String rootCommand,
            String message,
            boolean ownBase) {
        this.id = id;
        this.tree = tree;
        this.baseRoot = baseRoot;
        this.baseSnapshot = baseSnapshot;
        this.baseSeq = baseSeq;
        this.startedNs = startedNs;
        this.creds = creds;
        this.rootPid = rootPid;
        this.rootCommand = rootCommand;
        this.message = message;
        this.ownBase = ownBase;
    }

    public String id() {
        return id;
    }

    public MutableTree tree() {
        return tree;
    }

    /** The tree id the transaction started from. */
    public ObjectId baseRoot() {
        return baseRoot;
    }

    /**
     * The snapshot holding {@link #baseRoot()}: the live state's snapshot at begin, or the snapshot
     * the transaction was begun on ({@link #ownBase()}).
     */
    public ObjectId baseSnapshot() {
        return baseSnapshot;
    }

    /**
     * The live tree's sequence number at begin: a live node whose change and attach sequence
     * numbers are at most this is exactly as the base has it.
     */
    public long baseSeq() {
        return baseSeq;
    }

    /**
     * Whether the transaction was begun on a snapshot of its own choosing ({@code txfs run --base})
     * rather than on the live state: then no file of its tree is the live tree's version, whatever
     * the sequence numbers say (directories at the same place still correspond).
     */
    public boolean ownBase() {
        return ownBase;
    }

    public long startedNs() {
        return startedNs;
    }

    /** The user that owns it: only they (or root) may commit, abort or inspect it. */
    public long uid() {
        return creds.uid();
    }

    /** The user, group and groups it acts as (see {@link Credentials}). */
    public Credentials creds() {
        return creds;
    }

    public long rootPid() {
        return rootPid;
    }

    public String rootCommand() {
        return rootCommand;
    }

    /** The message given to {@code txfs begin -m}, "" if none. */
    public String message() {
        return message;
    }

    public State state() {
        return state;
    }

    void setState(State s) {
        state = s;
    }

    @Override
    public String toString() {
        return "transaction " + id;
    }
}
