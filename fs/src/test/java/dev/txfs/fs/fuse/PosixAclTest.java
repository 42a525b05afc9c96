package dev.txfs.fs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.fs.FsException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The ACL rules against what the kernel's posix_acl.c does for in-kernel filesystems. */
class PosixAclTest {
    /** An xattr value of (tag, perm, id) triples. */
    private static byte[] acl(int... triples) {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * (triples.length / 3)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(2);
        for (int i = 0; i < triples.length; i += 3) {
            b.putShort((short) triples[i]).putShort((short) triples[i + 1]).putInt(triples[i + 2]);
        }
        return b.array();
    }

    private static final int ANY = -1;

    @Test
    void decode_whenFramingIsBroken_failsWithInvalid() {
        assertThrows(FsException.class, () -> PosixAcl.decode(new byte[] {2, 0, 0}));
        assertThrows(FsException.class, () -> PosixAcl.decode(new byte[] {3, 0, 0, 0}));
        assertThrows(FsException.class, () -> PosixAcl.decode(acl(0x40, 7, ANY)));
    }

    @Test
    void encode_afterDecode_givesTheSameBytes() throws FsException {
        byte[] v = acl(1, 6, ANY, 2, 6, 65534, 4, 4, ANY, 0x10, 6, ANY, 0x20, 0, ANY);
        assertArrayEquals(v, PosixAcl.decode(v).encode());
    }

    @Test
    void applyTo_whenAclHasMask_theMaskGivesTheGroupBits() throws FsException {
        PosixAcl named = PosixAcl.decode(acl(1, 6, ANY, 2, 7, 65534, 4, 4, ANY, 0x10, 6, ANY, 0x20, 0, ANY));
        assertEquals(0100660, named.applyTo(0100640));
        assertFalse(named.isMinimal());
        PosixAcl minimal = PosixAcl.decode(acl(1, 7, ANY, 4, 5, ANY, 0x20, 5, ANY));
        assertEquals(04755, minimal.applyTo(04700));
        assertTrue(minimal.isMinimal());
    }

    @Test
    void chmod_whenAclHasMask_rewritesMaskNotGroup() throws FsException {
        PosixAcl a = PosixAcl.decode(acl(1, 6, ANY, 2, 6, 65534, 4, 4, ANY, 0x10, 6, ANY, 0x20, 4, ANY));
        assertArrayEquals(
                acl(1, 7, ANY, 2, 6, 65534, 4, 4, ANY, 0x10, 0, ANY, 0x20, 1, ANY),
                a.chmod(0701).encode());
        PosixAcl m = PosixAcl.decode(acl(1, 6, ANY, 4, 4, ANY, 0x20, 4, ANY));
        assertArrayEquals(acl(1, 6, ANY, 4, 0, ANY, 0x20, 0, ANY), m.chmod(0600).encode());
    }

    @Test
    void inherit_whenDefaultHasNamedEntry_masksByModeAndKeepsTheEntry() throws FsException {
        PosixAcl dflt = PosixAcl.decode(acl(1, 7, ANY, 2, 7, 65534, 4, 5, ANY, 0x10, 7, ANY, 0x20, 0, ANY));
        PosixAcl.Inherited file = dflt.inherit(0100666);
        assertEquals(0100660, file.mode());
        assertArrayEquals(
                acl(1, 6, ANY, 2, 7, 65534, 4, 5, ANY, 0x10, 6, ANY, 0x20, 0, ANY),
                file.access().encode());
        assertEquals(0770, dflt.inherit(0777).mode());
    }

    @Test
    void inherit_whenDefaultIsMinimal_givesOnlyAMode() throws FsException {
        PosixAcl dflt = PosixAcl.decode(acl(1, 7, ANY, 4, 5, ANY, 0x20, 0, ANY));
        PosixAcl.Inherited in = dflt.inherit(0100666);
        assertNull(in.access());
        assertEquals(0100640, in.mode());
    }

    /** The kernel's posix_acl_permission for a user that does not own the node. */
    @Test
    void grantsNonOwner_followsNamedUserThenGroupClassThenOther() throws FsException {
        // owner rwx, user 1000 rw-, group r-x, group 100 ---, mask rw-, other rwx
        PosixAcl a = PosixAcl.decode(acl(1, 7, ANY, 2, 6, 1000, 4, 5, ANY, 8, 0, 100, 0x10, 6, ANY, 0x20, 7, ANY));
        java.util.Set<Long> none = java.util.Set.of();
        assertTrue(a.grantsNonOwner(1000, none, 0, 2), "named user: rw- under the mask");
        assertFalse(a.grantsNonOwner(1000, none, 0, 1), "named user: no x, even though other has it");
        assertTrue(a.grantsNonOwner(2000, java.util.Set.of(0L), 0, 4), "owning group: r-x masked by rw-");
        assertFalse(a.grantsNonOwner(2000, java.util.Set.of(0L), 0, 1), "owning group: x masked off");
        assertFalse(a.grantsNonOwner(2000, java.util.Set.of(100L), 0, 4), "a matching group entry decides");
        assertTrue(a.grantsNonOwner(2000, java.util.Set.of(100L, 0L), 0, 4), "any matching group that grants");
        assertTrue(a.grantsNonOwner(2000, none, 0, 7), "no entry matches: other");
    }
}
