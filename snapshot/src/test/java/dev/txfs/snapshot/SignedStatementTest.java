package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** {@link SignedStatement}: its documented layout, strict decoding, and what its signature covers. */
final class SignedStatementTest {
    private static final ObjectId SNAP = ObjectId.hash("snapshot".getBytes(UTF_8));
    private static final ObjectId DIGEST = ObjectId.hash("stream".getBytes(UTF_8));

    private static SignedStatement sample() {
        return SignedStatement.forDelta("boot/default", SNAP, 7, 1_700_000_000L, 1_800_000_000L, DIGEST);
    }

    @Test
    void encode_followsTheDocumentedLayout_andDecodesToTheSame() {
        byte[] b = sample().encode();
        assertEquals(1 + 1 + "boot/default".length() + 32 + 24 + 32, b.length);
        assertEquals(1, b[0], "purpose: delta stream");
        assertEquals("boot/default".length(), b[1]);
        assertEquals("boot/default", new String(b, 2, 12, UTF_8));
        assertEquals(SNAP, ObjectId.fromBytes(b, 14));
        assertEquals(7, ByteBuffer.wrap(b, 46, 8).getLong());
        assertEquals(DIGEST, ObjectId.fromBytes(b, b.length - 32));
        assertEquals(sample(), SignedStatement.decode(b));
        assertEquals(
                ObjectId.fromBytes(new byte[32], 0),
                new SignedStatement(SignedStatement.Purpose.REF, "r", SNAP, 1, 1, 0, null).content(),
                "a ref file's statement has no content");
    }

    @Test
    void decode_truncatedTrailingOrUnknown_isMalformed() {
        byte[] b = sample().encode();
        assertThrows(MalformedObjectException.class, () -> SignedStatement.decode(Arrays.copyOf(b, b.length - 1)));
        assertThrows(MalformedObjectException.class, () -> SignedStatement.decode(Arrays.copyOf(b, b.length + 1)));
        byte[] purpose = b.clone();
        purpose[0] = 3;
        assertThrows(MalformedObjectException.class, () -> SignedStatement.decode(purpose));
        byte[] ref = b.clone();
        ref[2] = '.';
        assertThrows(MalformedObjectException.class, () -> SignedStatement.decode(ref), "not a valid ref name");
        assertThrows(MalformedObjectException.class, () -> SignedStatement.decode(new byte[0]));
    }

    @Test
    void newStatement_withInvalidRefOrNegativeVersion_isRefused() {
        assertThrows(IllegalArgumentException.class, () -> SignedStatement.forDelta("../x", SNAP, 1, 0, 0, DIGEST));
        assertThrows(
                IllegalArgumentException.class,
                () -> SignedStatement.forDelta("a".repeat(SignedStatement.MAX_REF + 1), SNAP, 1, 0, 0, DIGEST));
        assertThrows(IllegalArgumentException.class, () -> SignedStatement.forDelta("r", SNAP, -1, 0, 0, DIGEST));
    }

    @Test
    void signature_coversEveryField_andThePurpose() {
        Ed25519.Secret key = Ed25519.generate();
        SignedStatement s = sample();
        byte[] sig = s.sign(key);
        assertTrue(s.verifiedBy(key.publicKey(), sig));
        SignedStatement[] others = {
            SignedStatement.forDelta("boot/other", SNAP, 7, 1_700_000_000L, 1_800_000_000L, DIGEST),
            SignedStatement.forDelta("boot/default", DIGEST, 7, 1_700_000_000L, 1_800_000_000L, DIGEST),
            SignedStatement.forDelta("boot/default", SNAP, 8, 1_700_000_000L, 1_800_000_000L, DIGEST),
            SignedStatement.forDelta("boot/default", SNAP, 7, 1_700_000_001L, 1_800_000_000L, DIGEST),
            SignedStatement.forDelta("boot/default", SNAP, 7, 1_700_000_000L, 0, DIGEST),
            SignedStatement.forDelta("boot/default", SNAP, 7, 1_700_000_000L, 1_800_000_000L, SNAP),
            new SignedStatement(
                    SignedStatement.Purpose.REF, "boot/default", SNAP, 7, 1_700_000_000L, 1_800_000_000L, DIGEST)
        };
        for (SignedStatement o : others) {
            assertFalse(o.verifiedBy(key.publicKey(), sig), o.toString());
        }
        assertFalse(s.verifiedBy(Ed25519.generate().publicKey(), sig));
    }

    @Test
    void expiry_zeroIsNever_otherwiseAfterTheGivenSecond() {
        assertFalse(SignedStatement.forDelta("r", SNAP, 1, 0, 0, DIGEST).expiredAt(Long.MAX_VALUE));
        SignedStatement s = SignedStatement.forDelta("r", SNAP, 1, 0, 100, DIGEST);
        assertFalse(s.expiredAt(100));
        assertTrue(s.expiredAt(101));
    }
}
