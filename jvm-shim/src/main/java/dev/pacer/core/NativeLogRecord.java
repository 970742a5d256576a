package dev.pacer.core;

/** A log record of the native core, drained by the host and forwarded to its logging. */
public final class NativeLogRecord {
    private final String level;
    private final String target;
    private final String message;

    NativeLogRecord(String level, String target, String message) {
        this.level = level;
        this.target = target;
        this.message = message;
    }

    /** {@code ERROR}, {@code WARN}, {@code INFO}, {@code DEBUG} or {@code TRACE}. */
    public String level() {
        return level;
    }

    /** The Rust module that logged it, e.g. {@code pacer::client}. */
    public String target() {
        return target;
    }

    public String message() {
        return message;
    }

    @Override
    public String toString() {
        return level + " " + target + ": " + message;
    }
}
