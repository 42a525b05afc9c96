package dev.txfs.txn.proc;

import java.util.regex.Pattern;

/** Checks the names {@link Membership} turns into cgroup directory names. */
final class Ids {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private Ids() {}

    /** Returns {@code id} if it matches {@code [A-Za-z0-9_-]{1,64}}, else throws. */
    static String check(String id, String what) {
        if (id == null || !VALID.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid " + what + " \"" + id + "\": use 1 to 64 of A-Z a-z 0-9 _ -");
        }
        return id;
    }
}
