package dev.txfs.txn.proc;

import java.util.Optional;

/**
 * One process for the life of the system: a pid alone may be reused after the process exits, the
 * pair (pid, start time) never is.
 *
 * @param pid the process id
 * @param starttime field 22 of {@code /proc/<pid>/stat}, clock ticks after boot
 */
public record ProcessRef(long pid, long starttime) {
    /** The process now running as {@code pid}; empty if there is none or it has already exited. */
    public static Optional<ProcessRef> of(long pid) {
        return ProcInfo.stat(pid).filter(s -> !s.dead()).map(s -> new ProcessRef(pid, s.starttime()));
    }

    /**
     * Whether this process still runs: the pid exists, has the same start time (it was not reused),
     * and has not exited (a zombie waiting to be reaped is not alive).
     */
    public boolean alive() {
        return ProcInfo.stat(pid)
                .filter(s -> s.starttime() == starttime && !s.dead())
                .isPresent();
    }

    @Override
    public String toString() {
        return "process " + pid + " (started at tick " + starttime + ")";
    }
}
