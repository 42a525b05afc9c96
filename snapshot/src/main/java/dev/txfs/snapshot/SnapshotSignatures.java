package dev.txfs.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.Optional;

/**
 * Detached signatures of snapshot ids, kept beside the store (not inside any object, so signing
 * never changes an id): the file {@code signatures/<snapshot id>/<key id>.sig} in the store
 * directory holds one line, the base64 of the 64-byte Ed25519 signature of the message
 * {@code "txfs-snapshot-signature-v1\0"} followed by the 32 bytes of the snapshot id. A snapshot
 * may carry any number of signatures, one per key; signing again with a key replaces its file
 * (written to a temporary name and renamed).
 */
public final class SnapshotSignatures {
    static final String DIR = "signatures";
    private static final byte[] DOMAIN = "txfs-snapshot-signature-v1\0".getBytes(StandardCharsets.US_ASCII);

    private final Path dir;

    /** The signatures of the store in {@code storeDir}. */
    public SnapshotSignatures(Path storeDir) {
        this.dir = storeDir.resolve(DIR);
    }

    public static byte[] message(ObjectId snapshot) {
        byte[] m = new byte[DOMAIN.length + ObjectId.LENGTH];
        System.arraycopy(DOMAIN, 0, m, 0, DOMAIN.length);
        snapshot.writeTo(m, DOMAIN.length);
        return m;
    }

    /** Signs {@code snapshot} with {@code key} and stores the signature; returns its file. */
    public Path sign(ObjectId snapshot, Ed25519.Secret key) throws IOException {
        Path file = file(snapshot, key.publicKey());
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, Base64.getEncoder().encodeToString(key.sign(message(snapshot))) + "\n");
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return file;
    }

    /** The stored signature of {@code snapshot} by {@code key}, if there is one (not checked). */
    public Optional<byte[]> find(ObjectId snapshot, Ed25519.Public key) throws IOException {
        Path file = file(snapshot, key);
        if (!Files.isRegularFile(file) || Files.size(file) > 1024) {
            return Optional.empty();
        }
        try {
            return Optional.of(Base64.getDecoder().decode(Files.readString(file).strip()));
        } catch (IllegalArgumentException e) {
            return Optional.of(new byte[0]); // present but unreadable: verifies as bad
        }
    }

    /** Whether {@code key} has a valid stored signature of {@code snapshot}. */
    public Verdict verify(ObjectId snapshot, Ed25519.Public key) throws IOException {
        Optional<byte[]> sig = find(snapshot, key);
        if (sig.isEmpty()) {
            return Verdict.UNSIGNED;
        }
        return key.verifies(message(snapshot), sig.get()) ? Verdict.VALID : Verdict.BAD;
    }

    /** The outcome of {@link #verify}. */
    public enum Verdict {
        VALID,
        UNSIGNED,
        BAD
    }

    private Path file(ObjectId snapshot, Ed25519.Public key) {
        return dir.resolve(snapshot.toHex()).resolve(key.id().toHex() + ".sig");
    }
}
