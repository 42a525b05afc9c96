package dev.txfs.fs;

import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.txn.Transaction.Credentials;

/**
 * What a node can grant beyond its user's own rights: set-id bits and file capabilities, which
 * exec applies, and device numbers, which open follows. One definition for the views that hide
 * them ({@link LiveFs}) and for checkout, which drops them unless told to keep them.
 */
public final class Privileges {
    /** The xattr holding file capabilities, which exec applies. */
    public static final String CAPABILITY = "security.capability";

    static final int S_ISUID = 04000;
    static final int S_ISGID = 02000;
    /** The setuid and setgid bits of a mode. */
    public static final int SET_ID_BITS = S_ISUID | S_ISGID;

    private Privileges() {}

    /**
     * Whether node {@code n} grants {@code creds} more than they hold: a regular file setuid to
     * another user, setgid to a group they are not in, or with a file capability; or a device node.
     */
    static boolean grantsBeyond(MutableNode n, Credentials creds) {
        if (n instanceof Special s) {
            return s.rdev() != 0;
        }
        if (!(n instanceof File)) {
            return false;
        }
        int mode = n.mode();
        return (mode & S_ISUID) != 0 && n.uid() != creds.uid()
                || (mode & S_ISGID) != 0 && !creds.groups().contains(n.gid())
                || n.xattrs().containsKey(CAPABILITY);
    }
}
