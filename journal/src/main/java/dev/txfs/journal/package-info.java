/**
 * Changes between trees: {@link dev.txfs.journal.Diff} lists them, {@link dev.txfs.journal.Merge}
 * merges two sets of them three ways (the merge behind {@code txfs commit}), and {@link
 * dev.txfs.journal.DirectoryDiff} compares one directory's tries, the step both are built on.
 * {@link dev.txfs.journal.Delta} is what one snapshot adds to another (the objects, found by the
 * same rule: equal ids are never entered), {@link dev.txfs.journal.DeltaStream} its portable,
 * optionally signed byte stream and {@link dev.txfs.journal.DeltaReader} the all-or-nothing import.
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
 * object raises {@link dev.txfs.snapshot.ObjectStore.MissingObjectException}. A bad delta stream
 * raises only {@link dev.txfs.journal.DeltaReader.DeltaException} (its {@code Problem} says what),
 * or an {@link java.io.IOException} reading the file.
 */
package dev.txfs.journal;
