package dev.txfs.fs.posix;

/** One name read from a directory (never {@code "."} or {@code ".."}) and its d_type hint. */
public record DirEntry(byte[] name, int type, long ino) {
    public static final int DT_UNKNOWN = 0;
    public static final int DT_FIFO = 1;
    public static final int DT_CHR = 2;
    public static final int DT_DIR = 4;
    public static final int DT_BLK = 6;
    public static final int DT_REG = 8;
    public static final int DT_LNK = 10;
    public static final int DT_SOCK = 12;
}
