package dev.txfs.txn.proc;

import dev.txfs.txn.proc.Membership.Foreign;
import dev.txfs.txn.proc.Membership.ForeignProcessException;
import java.util.Optional;

/** Whose a process is, as {@link Membership#add} checks every process it takes in. */
final class Owners {
    private Owners() {}

    /**
     * Empty if {@code pid} is {@code uid}'s (all four uids) or gone; else the other user's
     * process, which is thrown unless {@code othersAllowed}.
     */
    static Optional<Foreign> check(long pid, long uid, boolean othersAllowed) throws ForeignProcessException {
        Optional<ProcInfo.Uids> ids = ProcInfo.uids(pid);
        if (ids.isEmpty() || ids.get().allAre(uid)) {
            return Optional.empty();
        }
        Foreign f = new Foreign(pid, ids.get(), ProcInfo.cmdline(pid));
        if (!othersAllowed) {
            throw new ForeignProcessException(f);
        }
        return Optional.of(f);
    }
}
