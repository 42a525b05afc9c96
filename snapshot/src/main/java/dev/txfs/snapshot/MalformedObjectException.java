package dev.txfs.snapshot;

/** Bytes that do not decode as the object they claim to be. */
public final class MalformedObjectException extends TxfsException {
    public MalformedObjectException(String message) {
        super(message);
    }
}
