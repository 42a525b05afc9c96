package dev.txfs.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Ed25519 keys and signatures for signed delta streams and snapshot signatures, with the key files
 * {@code txfs key generate} writes.
 *
 * <p>Key files are one line of text: a secret key file {@code txfs-ed25519-secret <base64 of the
 * 32-byte seed>} (mode 0600), a public key file {@code txfs-ed25519-public <base64 of the 32-byte
 * public key> [comment]}. A key's id is the SHA-256 of its 32 raw public key bytes, in hex.
 *
 * <p>Implementation: the JDK's own Ed25519 (SunEC, RFC 8032, in every JDK since 15). The design
 * named bouncycastle, but its jar is not in the build's offline repository; the algorithm, key
 * bytes and signatures are the same, and this class is the only place that would change.
 */
public final class Ed25519 {
    public static final int SIGNATURE_LENGTH = 64;
    public static final int KEY_LENGTH = 32;
    private static final String SECRET_TAG = "txfs-ed25519-secret";
    private static final String PUBLIC_TAG = "txfs-ed25519-public";
    /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519; the 32 key bytes follow. */
    private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

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
                byte[] der = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + KEY_LENGTH);
                System.arraycopy(raw, 0, der, X509_PREFIX.length, KEY_LENGTH);
                PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
                Signature s = Signature.getInstance("Ed25519");
                s.initVerify(key);
                s.update(message);
                return s.verify(signature);
            } catch (GeneralSecurityException | IllegalArgumentException e) {
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
            try {
                PrivateKey key = KeyFactory.getInstance("Ed25519")
                        .generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519, seed));
                Signature s = Signature.getInstance("Ed25519");
                s.initSign(key);
                s.update(message);
                return s.sign();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("Ed25519 signing failed", e);
            }
        }

        @Override
        public String toString() {
            return "secret " + publicKey;
        }
    }

    public static Secret generate() {
        try {
            java.security.KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            byte[] seed = ((EdECPrivateKey) pair.getPrivate())
                    .getBytes()
                    .orElseThrow(() -> new IllegalStateException("no raw Ed25519 key bytes"));
            byte[] der = pair.getPublic().getEncoded();
            return new Secret(seed, new Public(Arrays.copyOfRange(der, der.length - KEY_LENGTH, der.length)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    /** The public key of a seed (by signing nothing with it would not do: derive through the JDK). */
    static Public publicOf(byte[] seed) {
        try {
            // The JDK derives the public key only at generation: generate with a fixed "random" source.
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            g.initialize(NamedParameterSpec.ED25519, new FixedRandom(seed));
            byte[] der = g.generateKeyPair().getPublic().getEncoded();
            return new Public(Arrays.copyOfRange(der, der.length - KEY_LENGTH, der.length));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
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

    /** A SecureRandom that hands out a fixed seed, to derive a key pair from it. */
    private static final class FixedRandom extends java.security.SecureRandom {
        private final byte[] seed;

        FixedRandom(byte[] seed) {
            this.seed = seed.clone();
        }

        @Override
        public void nextBytes(byte[] bytes) {
            System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
        }
    }
}
