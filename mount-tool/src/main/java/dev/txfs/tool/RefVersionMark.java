package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.SignedStatement;
import java.util.Optional;

/**
 * The highest signed version {@code txfs import} accepted for one ref, and the snapshot it named:
 * kept as the store value {@code ref-version/<ref>} (text {@code "<version> <snapshot id hex>"}),
 * written in the same compare-and-set as the ref itself, so the mark and the ref never disagree.
 * It only goes up: a downgrade allowed by {@code --allow-downgrade} leaves it where it was.
 */
record RefVersionMark(long version, ObjectId snapshot) {
    static final String PREFIX = "ref-version/";

    /** The value key of {@code ref}'s mark (a signed ref name has at most {@link SignedStatement#MAX_REF} characters). */
    static String key(String ref) {
        return PREFIX + ref;
    }

    byte[] encode() {
        return (version + " " + snapshot.toHex()).getBytes(UTF_8);
    }

    /** The mark {@code raw} holds, or empty if it is unreadable (which the importer treats as the highest). */
    static Optional<RefVersionMark> decode(byte[] raw) {
        String[] f = new String(raw, UTF_8).trim().split(" ");
        try {
            long v = Long.parseLong(f[0]);
            return f.length == 2 && v >= 0
                    ? Optional.of(new RefVersionMark(v, ObjectId.parse(f[1])))
                    : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether {@code s} may follow this mark: a higher version, or the same version of the same
     * snapshot (importing one stream twice).
     */
    boolean admits(SignedStatement s) {
        return s.version() > version || s.version() == version && s.snapshot().equals(snapshot);
    }
}
