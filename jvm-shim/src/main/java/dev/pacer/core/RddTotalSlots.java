package dev.pacer.core;

/**
 * The slots of the {@code rdds} array of {@link PacerCore#onStageCompleted}: sums over the
 * stage's RDDs. The native core names the same slots, in the same order, in
 * {@code rust-core/src/jvm/slots.rs}; {@code rust-core/tests/jni_core.rs} checks they agree.
 */
public final class RddTotalSlots {
    /** Partitions. */
    public static final int NUM_PARTITIONS = 0;
    /** Cached partitions. */
    public static final int NUM_CACHED_PARTITIONS = 1;
    /** Memory size, bytes. */
    public static final int MEM_SIZE = 2;
    /** Disk size, bytes. */
    public static final int DISK_SIZE = 3;
    /** The length of the array. */
    public static final int COUNT = 4;

    private RddTotalSlots() {
    }

    /** The native core's slot names in slot order, for the consistency test. */
    static native String[] nativeNames();
}
