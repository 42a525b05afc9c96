package dev.txfs.snapshot;

/**
 * The kinds of stored object. Every canonical encoding starts with two bytes: the type code below
 * and the encoding version (1). The id of an object is the SHA-256 of all of its bytes, header
 * included, so two objects of different types never share an id.
 */
public enum ObjectType {
    CHUNK(1),
    BLOB(2),
    TREE(3),
    SNAPSHOT(4),
    ROOT(5);

    /** The only encoding version so far; decoders reject any other. */
    static final int VERSION = 1;

    final int code;

    ObjectType(int code) {
        this.code = code;
    }

    /** The type of raw canonical bytes, after checking the two header bytes. */
    public static ObjectType of(byte[] canonical) {
        if (canonical.length < 2) {
            throw new MalformedObjectException("object shorter than its 2-byte header");
        }
        int version = canonical[1] & 0xff;
        for (ObjectType t : values()) {
            if (t.code == (canonical[0] & 0xff)) {
                if (version != VERSION) {
                    throw new MalformedObjectException(
                            "unsupported " + t.name().toLowerCase() + " encoding version " + version);
                }
                return t;
            }
        }
        throw new MalformedObjectException("unknown object type " + (canonical[0] & 0xff));
    }

    ByteWriter header(int capacity) {
        return new ByteWriter(capacity + 2).u8(code).u8(VERSION);
    }

    ByteReader body(byte[] canonical) {
        if (of(canonical) != this) {
            throw new MalformedObjectException("expected a " + name().toLowerCase() + ", found a "
                    + of(canonical).name().toLowerCase());
        }
        return new ByteReader(canonical, 2, canonical.length - 2);
    }
}
