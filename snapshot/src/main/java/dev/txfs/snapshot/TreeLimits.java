package dev.txfs.snapshot;

/**
 * Limits every tree obeys, wherever it comes from (a mount, a host directory, an import stream), so
 * that no input can make a tree walk exhaust a thread's stack or the heap.
 *
 * <p>{@link #MAX_DEPTH}: the deepest a directory may sit below the root (the root is depth 0, a
 * name in it depth 1). Linux resolves at most {@code PATH_MAX} (4096) bytes per path, so names
 * deeper than ~2048 levels cannot be reached by one path anyway; real systems stay below 100.
 * Creating, moving or importing anything deeper is refused with a clear error.
 */
public final class TreeLimits {
    private TreeLimits() {}

    /** The deepest level an entry may have; the root's own entries are at depth 1. */
    public static final int MAX_DEPTH = 1024;
}
