package dev.pacer.core;

/** A failure inside Pacer's native core: an error it reported, or a panic it caught. */
public class PacerNativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PacerNativeException(String message) {
        super(message);
    }

    public PacerNativeException(String message, Throwable cause) {
        super(message, cause);
    }
}
