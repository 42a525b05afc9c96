package dev.txfs.snapshot;

/** What a tree entry names; the codes are part of the tree encoding. */
public enum EntryKind {
    FILE(1, 0100000),
    DIRECTORY(2, 0040000),
    SYMLINK(3, 0120000),
    CHAR_DEVICE(4, 0020000),
    BLOCK_DEVICE(5, 0060000),
    FIFO(6, 0010000),
    SOCKET(7, 0140000),
    /** One name of a hard-linked inode; the inode itself lives in the root's link table. */
    HARDLINK(8, 0);

    final int code;
    /** The S_IFMT bits of st_mode for this kind (0 for HARDLINK: ask the link record). */
    public final int typeBits;

    EntryKind(int code, int typeBits) {
        this.code = code;
        this.typeBits = typeBits;
    }

    static EntryKind ofCode(int code) {
        for (EntryKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new MalformedObjectException("unknown entry kind " + code);
    }

    /** The kind for the S_IFMT bits of a st_mode. */
    public static EntryKind ofMode(int stMode) {
        int fmt = stMode & 0170000;
        for (EntryKind k : values()) {
            if (k.typeBits == fmt && k != HARDLINK) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown file type in mode " + Integer.toOctalString(stMode));
    }
}
