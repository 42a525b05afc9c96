package dev.txfs.txn.proc;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Decides which transaction, if any, the process behind a filesystem request belongs to: the
 * sync-context resolver the FUSE layer calls for every namespace request.
 *
 * <p>A transaction's members are the process trees of its roots: a root, its descendants when it
 * was added, and every process they start afterwards. Two ways to track them ({@link Mode}):
 * cgroup v2 (a cgroup per transaction below each member's own cgroup, whose limits keep applying;
 * nothing leaves by re-parenting) and parent walk (a walk up
 * the ppid chain; a process that re-parents itself to init — double fork, daemonizing — leaves).
 *
 * <p>Threads: {@link #resolve} and {@link #hasMembers} may be called from any thread at any time
 * and do not block on {@link #add}/{@link #remove}, which are serialized.
 */
public interface Membership extends AutoCloseable {
    /** How members are tracked; reported by {@code txfs status}. */
    enum Mode {
        /** A cgroup v2 per transaction: double-forked and daemonized members stay in. */
        CGROUP,
        /** A walk up the ppid chain with start-time checks: re-parented processes leave. */
        PARENT_WALK
    }

    Mode mode();

    /**
     * Makes {@code root} (and its existing descendants) members of {@code txnId}; a transaction
     * may have several roots. Throws IOException with a clear message if impossible, e.g.
     * "process N is gone".
     *
     * <p>Every process it takes in is checked against {@code uid}: one whose four uids (real,
     * effective, saved, fs) are not all {@code uid} is another user's. Without {@code
     * othersAllowed} such a process makes the whole call fail with {@link ForeignProcessException}
     * and nothing changes; with it, it is taken in and listed in the answer.
     *
     * @param uid the user the transaction is for
     * @param othersAllowed whether other users' processes may be taken in (root's begin)
     * @return the other users' processes taken in (empty without {@code othersAllowed})
     * @throws IllegalArgumentException if {@code txnId} is not 1 to 64 of {@code [A-Za-z0-9_-]}
     */
    List<Foreign> add(String txnId, ProcessRef root, long uid, boolean othersAllowed) throws IOException;

    /** A process of another user that {@link #add} took in or would have. */
    record Foreign(long pid, ProcInfo.Uids uids, String command) {
        @Override
        public String toString() {
            return "process " + pid + " (" + command + ") of " + uids;
        }
    }

    /** {@link #add} would take in another user's process and was not allowed to. */
    final class ForeignProcessException extends IOException {
        private final transient Foreign process;

        ForeignProcessException(Foreign process) {
            super(process + ": a transaction may take in only its user's own processes");
            this.process = process;
        }

        public Foreign process() {
            return process;
        }
    }

    /**
     * The transaction the thread {@code tid} (FUSE header pid) belongs to, or empty for the live
     * tree. Hot path: cached. {@code tid} 0 (kernel-originated requests) → empty; a thread that is
     * already gone → empty.
     */
    Optional<String> resolve(long tid);

    /**
     * Ends {@code txnId}'s membership (after commit/abort): members see the live tree again;
     * cgroup mode moves remaining processes back to where they came from and removes the cgroup.
     * An unknown id is a no-op.
     */
    void remove(String txnId);

    /**
     * Whether any process of {@code txnId} is still alive (cgroup: the cgroup is populated; parent
     * walk: a root is alive). Used to abort transactions whose shell exited. False for an unknown
     * id.
     */
    boolean hasMembers(String txnId);

    /** Removes every transaction's membership and everything this object created. Idempotent. */
    @Override
    void close();

    /**
     * Opens the membership of one daemon or mount. {@link Mode#CGROUP} means "cgroup if possible":
     * it is used when the cgroup v2 hierarchy is mounted and writable, else parent walk (check
     * {@link #mode()}); {@link Mode#PARENT_WALK} always gives parent walk.
     *
     * @param instanceName distinguishes daemons on one machine (it is in the name of every
     *     transaction cgroup, {@code txfs-<instanceName>-<txnId>}); 1 to 64 of {@code [A-Za-z0-9_-]}
     */
    static Membership create(Mode preferred, String instanceName) {
        Ids.check(instanceName, "instance name");
        if (preferred == Mode.CGROUP) {
            try {
                return CgroupMembership.open(instanceName);
            } catch (IOException e) {
                return new ParentWalkMembership(System::nanoTime, "cgroup v2 unusable: " + e.getMessage());
            }
        }
        return new ParentWalkMembership(System::nanoTime, "parent walk requested");
    }
}
