package dev.pacer.core;

/**
 * The slots of the {@code metrics} array of {@link PacerCore#onStageCompleted}: task metrics
 * summed over the stage's tasks. The native core names the same slots, in the same order, in
 * {@code rust-core/src/jvm/slots.rs}; {@code rust-core/tests/jni_core.rs} checks they agree.
 */
public final class StageMetricSlots {
    /** {@code executorRunTime}, ms. */
    public static final int EXECUTOR_RUN_TIME_MS = 0;
    /** {@code executorCpuTime}, ns. */
    public static final int EXECUTOR_CPU_TIME_NS = 1;
    /** {@code jvmGCTime}, ms. */
    public static final int JVM_GC_TIME_MS = 2;
    /** Shuffle bytes read. */
    public static final int SHUFFLE_READ_BYTES = 3;
    /** Shuffle bytes written. */
    public static final int SHUFFLE_WRITE_BYTES = 4;
    /** Input bytes read. */
    public static final int INPUT_BYTES = 5;
    /** Output bytes written. */
    public static final int OUTPUT_BYTES = 6;
    /** Disk bytes spilled. */
    public static final int DISK_BYTES_SPILLED = 7;
    /** Peak execution memory. */
    public static final int PEAK_EXECUTION_MEMORY = 8;
    /** The length of the array. */
    public static final int COUNT = 9;

    private StageMetricSlots() {
    }

    /** The native core's slot names in slot order, for the consistency test. */
    static native String[] nativeNames();
}
