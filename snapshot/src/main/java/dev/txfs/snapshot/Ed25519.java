package dev.txfs.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * Ed25519 keys and signatures for signed delta streams and snapshot signatures, with the key files
 * {@code txfs key generate} writes.
 *
 * <p>Key files are one line of text: a secret key file {@code txfs-ed25519-secret <base64 of the
 * 32-byte seed>} (mode 0600), a public key file {@code txfs-ed25519-public <base64 of the 32-byte
 * public key> [comment]}. A key's id is the SHA-256 of its 32 raw public key bytes, in hex.
 *
 * <p>Implementation: bouncycastle's lightweight Ed25519 (RFC 8032), on raw 32-byte keys: no JCA
 * provider, no DER wrapping.
 */
public final class Ed25519 {
    public static final int SIGNATURE_LENGTH = 64;
    public static final int KEY_LENGTH = 32;
    private static final String SECRET_TAG = "txfs-ed25519-secret";
    private static final String PUBLIC_TAG = "txfs-ed25519-public";

    private Ed25519() {}

    /** A public key: its 32 raw bytes. */
    public record Public(byte[] raw) {
        public Public {
            if (raw.length != KEY_LENGTH) {
                throw new IllegalArgumentException("an Ed25519 public key has 32 bytes, got " + raw.length);
            }
            raw = raw.clone();
        }

        /** SHA-256 of the raw key bytes. */
        public ObjectId id() {
            return ObjectId.hash(raw);
        }

        /** Whether {@code signature} signs {@code message} with this key. */
        public boolean verifies(byte[] message, byte[] signature) {
            if (signature.length != SIGNATURE_LENGTH) {
                return false;
            }
            try {
                Ed25519Signer v = new Ed25519Signer();
                v.init(false, new Ed25519PublicKeyParameters(raw, 0));
                v.update(message, 0, message.length);
                return v.verifySignature(signature);
            } catch (IllegalArgumentException e) {
                return false; // an invalid point is not a valid signature
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Public p && Arrays.equals(raw, p.raw);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(raw);
        }

        @Override
        public String toString() {
            return "ed25519:" + id().shortHex();
        }
    }

    /** A secret key and its public half. */
    public record Secret(byte[] seed, Public publicKey) {
        public byte[] sign(byte[] message) {
            Ed25519Signer signer = new Ed25519Signer();
            signer.init(true, new Ed25519PrivateKeyParameters(seed, 0));
            signer.update(message, 0, message.length);
            return signer.generateSignature();
        }

        @Override
        public String toString() {
            return "secret " + publicKey;
        }
    }

    public static Secret generate() {
        Ed25519PrivateKeyParameters k = new Ed25519PrivateKeyParameters(new SecureRandom());
        return new Secret(k.getEncoded(), new Public(k.generatePublicKey().getEncoded()));
    }

    /** The public key of a seed. */
    static Public publicOf(byte[] seed) {
        return new Public(
                new Ed25519PrivateKeyParameters(seed, 0).generatePublicKey().getEncoded());
    }

    /** Writes {@code path} (mode 0600, must not exist) and {@code path.pub}. */
    public static void writeKeyFiles(Secret key, Path path, String comment) throws IOException {
        Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(
                path,
                SECRET_TAG + " " + Base64.getEncoder().encodeToString(key.seed()) + "\n",
                StandardOpenOption.TRUNCATE_EXISTING);
        writePublic(key.publicKey(), Path.of(path + ".pub"), comment);
    }

    public static void writePublic(Public key, Path path, String comment) throws IOException {
        Files.writeString(
                path,
                PUBLIC_TAG + " " + Base64.getEncoder().encodeToString(key.raw())
                        + (comment == null || comment.isBlank() ? "" : " " + comment.strip())
                        + "\n",
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
    }

    /** Reads a secret key file. */
    public static Secret readSecret(Path path) throws IOException {
        byte[] seed = field(path, SECRET_TAG);
        return new Secret(seed, publicOf(seed));
    }

    /** Reads a public key file, or the public half of a secret key file. */
    public static Public readPublic(Path path) throws IOException {
        String line = firstLine(path);
        if (line.startsWith(SECRET_TAG + " ")) {
            return readSecret(path).publicKey();
        }
        return new Public(field(path, PUBLIC_TAG));
    }

    private static byte[] field(Path path, String tag) throws IOException {
        String[] parts = firstLine(path).split(" ", 3);
        if (parts.length < 2 || !parts[0].equals(tag)) {
            throw new KeyFileException(path + ": not a " + tag + " key file");
        }
        try {
            byte[] b = Base64.getDecoder().decode(parts[1]);
            if (b.length != KEY_LENGTH) {
                throw new KeyFileException(path + ": key has " + b.length + " bytes, not 32");
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new KeyFileException(path + ": key is not base64");
        }
    }

    private static String firstLine(Path path) throws IOException {
        if (Files.size(path) > 4096) {
            throw new KeyFileException(path + ": too large for a key file");
        }
        return Files.readString(path, StandardCharsets.UTF_8)
                .lines()
                .findFirst()
                .orElse("")
                .strip();
    }

    /** A key file that is not one. */
    public static final class KeyFileException extends TxfsException {
        public KeyFileException(String message) {
            super(message);
        }
    }
}
