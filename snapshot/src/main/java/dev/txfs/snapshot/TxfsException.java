package dev.txfs.snapshot;

/** The root of txfs's own failures; the message is one line fit for a user. */
public class TxfsException extends RuntimeException {
    public TxfsException(String message) {
        super(message);
    }

    public TxfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
