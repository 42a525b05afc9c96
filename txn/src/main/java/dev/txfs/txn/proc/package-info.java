/**
 * Which transaction, if any, a process belongs to: {@link dev.txfs.txn.proc.Membership} (cgroup v2
 * or parent walk), over {@link dev.txfs.txn.proc.ProcInfo} (cheap, race-tolerant reads of {@code
 * /proc}) and {@link dev.txfs.txn.proc.ProcessRef} (a pid plus its start time, safe against pid
 * reuse).
 *
 * <p>Hot path: {@link dev.txfs.txn.proc.Membership#resolve} runs for every namespace request. With
 * no transaction open it reads nothing; otherwise cgroup mode reads one {@code /proc} file, and
 * parent walk answers from a 1 s cache keyed by thread id and checked against the thread's start
 * time (one read), reading one file per ancestor on a miss.
 *
 * <p>Threads: everything here may be called from any thread. {@code resolve} and {@code
 * hasMembers} never wait for {@code add}/{@code remove}; those two are serialized per membership.
 *
 * <p>Errors: a process that is gone is an answer, not an error ({@code Optional.empty()}, {@code
 * -1}, {@code false}); {@code Membership.add} throws {@link java.io.IOException} with a one-line
 * reason ("process 123 is gone", "cannot create cgroup …: Permission denied"), and {@link
 * dev.txfs.txn.proc.Membership.ForeignProcessException} when it would take in another user's
 * process and may not (nothing is moved then); an invalid id throws
 * {@link java.lang.IllegalArgumentException}; unexpected failures reading {@code /proc} or the
 * cgroup tree (not ENOENT/ESRCH) are thrown as {@link java.io.UncheckedIOException}.
 *
 * <p>Limits: Linux only. A request whose thread exited before it was resolved resolves to the live
 * tree (a FUSE caller waits for its reply, so this takes a killed caller). Pid namespaces are not
 * translated: the daemon must see the callers' pids (the FUSE header carries pids of the namespace
 * the mount was made in).
 */
package dev.txfs.txn.proc;
