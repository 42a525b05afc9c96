package dev.txfs.fs;

import dev.txfs.fs.fuse.PosixAcl;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.txn.Transaction.Credentials;

/**
 * Whether a user may read, write or search a stored node, as the kernel decides it
 * ({@code generic_permission}): the owner's bits for the owner, else a non-trivial access ACL
 * ({@link PosixAcl#grantsNonOwner}), else the group bits for a member of the owning group, else
 * the other bits. No capabilities: root is never asked about.
 */
final class PosixAccess {
    static final int R = 4, W = 2, X = 1;

    private PosixAccess() {}

    /** Whether {@code creds} (not root) have {@code want} (rwx bits) on {@code node}. */
    static boolean permits(Credentials creds, TreeEntry node, int want) {
        int mode = node.mode();
        if (node.uid() == creds.uid()) {
            return ((mode >> 6) & want) == want;
        }
        byte[] acl = node.xattrs().get(PosixAcl.ACCESS);
        if (acl != null) {
            try {
                PosixAcl a = PosixAcl.decode(acl);
                if (!a.isMinimal()) {
                    return a.grantsNonOwner(creds.uid(), creds.groups(), node.gid(), want);
                }
            } catch (FsException e) {
                return false; // an ACL that does not decode grants nothing
            }
        }
        if (creds.inGroup(node.gid())) {
            return ((mode >> 3) & want) == want;
        }
        return (mode & want) == want;
    }
}
