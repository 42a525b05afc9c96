/**
 * Changes between trees: {@link dev.txfs.journal.Diff} lists them, {@link dev.txfs.journal.Merge}
 * merges two sets of them three ways (the merge behind {@code txfs commit}), and {@link
 * dev.txfs.journal.DirectoryDiff} compares one directory's tries, the step both are built on.
 *
 * <p>Hot paths: every operation costs O(changed entries × depth) store reads. Subtrees and trie
 * nodes whose ids are equal on the two sides compared are never read; nothing here lists a whole
 * directory unless a change made it differ whole (a directory added or deleted is one change, and
 * its contents are not read).
 *
 * <p>Paths: file names are bytes. Inside, paths are kept as raw bytes (ISO-8859-1 strings, one char
 * per byte) and ordered bytewise; what leaves the package ({@link dev.txfs.journal.Change#path()},
 * merge conflicts) is decoded as UTF-8 for display.
 *
 * <p>Threads: no shared state; a call works on its arguments only. An {@link
 * dev.txfs.snapshot.ObjectWriter} passed in belongs to the calling thread.
 *
 * <p>Errors: a conflict is a result, not an exception. Trees that do not decode raise {@link
 * dev.txfs.snapshot.MalformedObjectException} (so does a hard link with no record); a missing
 * object raises {@link dev.txfs.snapshot.ObjectStore.MissingObjectException}.
 */
package dev.txfs.journal;
