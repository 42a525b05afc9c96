package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Ed25519} key files and signatures, {@link SnapshotSignatures}, {@link SafeNames}. */
final class SignaturesTest {
    @TempDir
    Path dir;

    @Test
    void keyFiles_roundTrip_andTheSecretFileIsPrivate() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        Path file = dir.resolve("k");
        Ed25519.writeKeyFiles(key, file, "test key");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Ed25519.Secret read = Ed25519.readSecret(file);
        assertArrayEquals(key.seed(), read.seed());
        assertEquals(key.publicKey(), read.publicKey(), "the public key derived from the seed is the generated one");
        assertEquals(key.publicKey(), Ed25519.readPublic(Path.of(file + ".pub")));
        assertEquals(key.publicKey(), Ed25519.readPublic(file), "a secret key file names its public key too");
        assertThrows(Ed25519.KeyFileException.class, () -> Ed25519.readSecret(Path.of(file + ".pub")));
    }

    @Test
    void signatures_verifyOnlyWithTheRightKeyAndMessage() {
        Ed25519.Secret key = Ed25519.generate();
        byte[] m = "message".getBytes(UTF_8);
        byte[] sig = key.sign(m);
        assertEquals(Ed25519.SIGNATURE_LENGTH, sig.length);
        assertTrue(key.publicKey().verifies(m, sig));
        assertFalse(key.publicKey().verifies("messagE".getBytes(UTF_8), sig));
        assertFalse(Ed25519.generate().publicKey().verifies(m, sig));
        sig[10] ^= 1;
        assertFalse(key.publicKey().verifies(m, sig));
        assertFalse(key.publicKey().verifies(m, new byte[3]));
    }

    @Test
    void snapshotSignatures_storedBesideTheStore_verifyPerKey() throws Exception {
        SnapshotSignatures sigs = new SnapshotSignatures(dir);
        ObjectId snap = ObjectId.hash("s".getBytes(UTF_8));
        Ed25519.Secret a = Ed25519.generate();
        Ed25519.Secret b = Ed25519.generate();
        assertEquals(SnapshotSignatures.Verdict.UNSIGNED, sigs.verify(snap, a.publicKey()));
        Path f = sigs.sign(snap, a);
        assertEquals(SnapshotSignatures.Verdict.VALID, sigs.verify(snap, a.publicKey()));
        assertEquals(SnapshotSignatures.Verdict.UNSIGNED, sigs.verify(snap, b.publicKey()));
        assertEquals(SnapshotSignatures.Verdict.UNSIGNED, sigs.verify(ObjectId.hash(new byte[1]), a.publicKey()));
        Files.writeString(f, java.util.Base64.getEncoder().encodeToString(a.sign(new byte[] {1})));
        assertEquals(SnapshotSignatures.Verdict.BAD, sigs.verify(snap, a.publicKey()));
    }

    @Test
    void safeNames_rejectEverythingThatLeavesADirectory() {
        for (String bad : new String[] {"", ".", "..", "a/b", "/", "a\0"}) {
            assertFalse(SafeNames.isSafeName(bad.getBytes(UTF_8)), bad);
        }
        for (String good : new String[] {"a", "...", ".a", "..b", "a b", "ü"}) {
            assertTrue(SafeNames.isSafeName(good.getBytes(UTF_8)), good);
        }
    }
}
