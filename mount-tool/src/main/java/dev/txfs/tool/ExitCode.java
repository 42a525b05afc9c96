package dev.txfs.tool;

/**
 * The exit codes of the {@code txfs} command; scripts may rely on them.
 *
 * <p>README-exit-codes (the same table is printed by {@code txfs help} and kept in
 * mount-tool/README-exit-codes.md):
 *
 * <pre>
 * code  meaning
 * 0     success
 * 1     failure: verify found damage, or the operation failed
 * 2     bad usage or invalid input (unknown option, missing argument, ambiguous id prefix,
 *       invalid ref or tag name, existing tag without --force, non-empty checkout target)
 * 3     not found: unknown snapshot, ref or tag, missing directory or file
 * 4     store problem: not a store, a newer store format, store full, a missing or damaged object
 * 5     I/O error reading or writing files outside the store
 * 6     commit conflict: the same paths changed in the transaction and outside it; the
 *       transaction stays open, unchanged
 * 7     not permitted: another user's transaction, or one not rooted at an ancestor
 * </pre>
 */
enum ExitCode {
    OK(0, "success"),
    FAILED(1, "failure: verify found damage, or the operation failed"),
    USAGE(2, "bad usage or invalid input"),
    NOT_FOUND(3, "not found: unknown snapshot or ref, missing directory or file"),
    STORE(4, "store problem: not a store, newer format, store full, missing or damaged object"),
    IO(5, "I/O error on files outside the store"),
    CONFLICT(6, "commit conflict: the transaction stays open, unchanged"),
    DENIED(
            7,
            "not permitted: another user's transaction or process, the live tree's permissions, or an untrusted or outdated signature");

    final int code;
    final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    /** Lines for picocli's exit code list ({@code "code:meaning"}). */
    static String[] helpList() {
        ExitCode[] all = values();
        String[] out = new String[all.length];
        for (int i = 0; i < all.length; i++) {
            out[i] = all[i].code + ":" + all[i].meaning;
        }
        return out;
    }
}
