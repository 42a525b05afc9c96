package dev.txfs.fs.fuse;

import dev.txfs.fs.FsException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A POSIX ACL in the kernel's xattr form ({@code linux/posix_acl_xattr.h}), and the rules the
 * kernel leaves to a FUSE filesystem: the mode an ACL implies, chmod rewriting an ACL, and the ACL
 * and mode a new node inherits from its directory's default ACL (the kernel's
 * {@code posix_acl_equiv_mode}, {@code __posix_acl_chmod} and {@code posix_acl_create_masq}).
 *
 * <p>Layout, little-endian: a u32 version (2), then per entry u16 tag, u16 perm (rwx in the low 3
 * bits), u32 id (uid or gid for USER/GROUP entries, else -1). The kernel validates an ACL before it
 * sends one, so decoding only checks the framing.
 */
public final class PosixAcl {
    public static final String ACCESS = "system.posix_acl_access";
    public static final String DEFAULT = "system.posix_acl_default";

    static final int VERSION = 2;
    static final int USER_OBJ = 0x01, USER = 0x02, GROUP_OBJ = 0x04, GROUP = 0x08, MASK = 0x10, OTHER = 0x20;

    private record Entry(int tag, int perm, int id) {}

    private final List<Entry> entries;

    private PosixAcl(List<Entry> entries) {
        this.entries = entries;
    }

    /** Decodes an xattr value; malformed framing is EINVAL. */
    public static PosixAcl decode(byte[] value) throws FsException {
        if (value.length < 4 || (value.length - 4) % 8 != 0) {
            throw new FsException(FsException.Kind.INVALID, "malformed POSIX ACL of " + value.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt() != VERSION) {
            throw new FsException(FsException.Kind.INVALID, "POSIX ACL version is not 2");
        }
        List<Entry> list = new ArrayList<>();
        while (b.hasRemaining()) {
            int tag = b.getShort() & 0xffff;
            int perm = b.getShort() & 0xffff;
            int id = b.getInt();
            switch (tag) {
                case USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER -> list.add(new Entry(tag, perm & 7, id));
                default -> throw new FsException(FsException.Kind.INVALID, "POSIX ACL tag " + tag);
            }
        }
        return new PosixAcl(list);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * entries.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(VERSION);
        for (Entry e : entries) {
            b.putShort((short) e.tag()).putShort((short) e.perm()).putInt(e.id());
        }
        return b.array();
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Whether the mode bits say all this ACL says (only the owner, group and other entries). */
    public boolean isMinimal() {
        return entries.stream().allMatch(e -> e.tag() == USER_OBJ || e.tag() == GROUP_OBJ || e.tag() == OTHER);
    }

    /** The 0777 permission bits of {@code mode} as this access ACL sets them (the mask, if any, gives the group bits). */
    public int applyTo(int mode) {
        int bits = 0;
        for (Entry e : entries) {
            switch (e.tag()) {
                case USER_OBJ -> bits |= e.perm() << 6;
                case GROUP_OBJ -> bits |= e.perm() << 3;
                case OTHER -> bits |= e.perm();
                default -> {}
            }
        }
        for (Entry e : entries) {
            if (e.tag() == MASK) {
                bits = (bits & ~070) | (e.perm() << 3);
            }
        }
        return (mode & ~0777) | bits;
    }

    /**
     * Whether this access ACL grants {@code want} (rwx bits, 4 2 1) to a user that does not own the
     * node: the kernel's {@code posix_acl_permission} past its owner step. A matching named-user
     * entry decides (masked); else the group class: if the owning group or a named group the user is
     * in grants it (masked) it is granted, and if any matched without granting it is refused; else
     * the other entry. The owner's own access is the mode's owner bits, as in the kernel.
     */
    public boolean grantsNonOwner(long uid, java.util.Set<Long> groups, long ownerGid, int want) {
        int mask = 7;
        for (Entry e : entries) {
            if (e.tag() == MASK) {
                mask = e.perm();
            }
        }
        for (Entry e : entries) {
            if (e.tag() == USER && Integer.toUnsignedLong(e.id()) == uid) {
                return (e.perm() & mask & want) == want;
            }
        }
        boolean matched = false;
        for (Entry e : entries) {
            boolean member =
                    switch (e.tag()) {
                        case GROUP_OBJ -> groups.contains(ownerGid);
                        case GROUP -> groups.contains(Integer.toUnsignedLong(e.id()));
                        default -> false;
                    };
            if (member) {
                if ((e.perm() & mask & want) == want) {
                    return true;
                }
                matched = true;
            }
        }
        if (matched) {
            return false;
        }
        for (Entry e : entries) {
            if (e.tag() == OTHER) {
                return (e.perm() & want) == want;
            }
        }
        return false;
    }

    /** This access ACL after chmod to {@code mode}: owner, mask (else group) and other follow the mode. */
    public PosixAcl chmod(int mode) {
        boolean hasMask = entries.stream().anyMatch(e -> e.tag() == MASK);
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            int perm =
                    switch (e.tag()) {
                        case USER_OBJ -> (mode >> 6) & 7;
                        case OTHER -> mode & 7;
                        case MASK -> (mode >> 3) & 7;
                        case GROUP_OBJ -> hasMask ? e.perm() : (mode >> 3) & 7;
                        default -> e.perm();
                    };
            out.add(new Entry(e.tag(), perm, e.id()));
        }
        return new PosixAcl(out);
    }

    /** What a new node gets from this default ACL: its access ACL (null if the mode says it all) and mode. */
    public record Inherited(PosixAcl access, int mode) {}

    /** The access ACL and mode of a node created with {@code mode} (umask not applied) under this default ACL. */
    public Inherited inherit(int mode) {
        int m = mode & 0777;
        boolean notEquivalent = false;
        List<Entry> out = new ArrayList<>();
        int groupAt = -1;
        int maskAt = -1;
        for (Entry e : entries) {
            int perm = e.perm();
            switch (e.tag()) {
                case USER_OBJ -> {
                    perm &= (m >> 6) & 7;
                    m &= (perm << 6) | ~0700;
                }
                case USER, GROUP -> notEquivalent = true;
                case GROUP_OBJ -> groupAt = out.size();
                case MASK -> {
                    maskAt = out.size();
                    notEquivalent = true;
                }
                case OTHER -> {
                    perm &= m & 7;
                    m &= perm | ~07;
                }
                default -> {}
            }
            out.add(new Entry(e.tag(), perm, e.id()));
        }
        int at = maskAt >= 0 ? maskAt : groupAt;
        if (at >= 0) {
            Entry e = out.get(at);
            int perm = e.perm() & ((m >> 3) & 7);
            out.set(at, new Entry(e.tag(), perm, e.id()));
            m &= (perm << 3) | ~070;
        }
        return new Inherited(notEquivalent ? new PosixAcl(out) : null, (mode & ~0777) | m);
    }
}
