package dev.txfs.fs;

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
}
