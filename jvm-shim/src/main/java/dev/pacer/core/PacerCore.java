package dev.pacer.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Pacer's native core, usable from any JVM program (no Spark dependency). One instance per
 * application: report events with the {@code on...} methods, apply what
 * {@link #nextActions(long)} returns, and {@link #close()} at the end.
 *
 * <p>Event methods never block on I/O: the core talks to the bridge on its own thread. Every
 * method may throw {@link PacerNativeException} when the native core reports an error or
 * panics. Methods called after {@link #close()} do nothing.
 */
public final class PacerCore implements AutoCloseable {
    // Native calls hold the read lock; destroying the native core takes the write lock, so no
    // call can use a freed handle.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicBoolean closed = new AtomicBoolean();
    private long handle;

    private PacerCore(long handle) {
        this.handle = handle;
    }

    /**
     * Starts a core from configuration pairs (all of SparkConf, plus optional
     * {@code pacer.runtime.*} facts). Returns null when the configuration disables Pacer
     * ({@code spark.customExtraListener.enabled=false}).
     *
     * @throws PacerNativeException if the library cannot be loaded or a value is invalid (the
     *     message names the key and the expected form)
     */
    public static PacerCore create(Map<String, String> configuration) {
        NativeLoader.load();
        String[] keys = new String[configuration.size()];
        String[] values = new String[configuration.size()];
        int i = 0;
        for (Map.Entry<String, String> entry : configuration.entrySet()) {
            keys[i] = entry.getKey();
            values[i] = entry.getValue() == null ? "" : entry.getValue();
            i++;
        }
        long handle = nativeCreate(keys, values);
        return handle == 0 ? null : new PacerCore(handle);
    }

    private long enter() {
        lock.readLock().lock();
        return handle;
    }

    private void exit() {
        lock.readLock().unlock();
    }

    public void onApplicationStart(String applicationId, String appName, long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeApplicationStart(h, applicationId, appName, timeMs);
            }
        } finally {
            exit();
        }
    }

    public void onApplicationEnd(long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeApplicationEnd(h, timeMs);
            }
        } finally {
            exit();
        }
    }

    public void onJobStart(int jobId, long timeMs, int[] stageIds) {
        long h = enter();
        try {
            if (h != 0) {
                nativeJobStart(h, jobId, timeMs, stageIds);
            }
        } finally {
            exit();
        }
    }

    public void onJobEnd(int jobId, long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeJobEnd(h, jobId, timeMs);
            }
        } finally {
            exit();
        }
    }

    public void onStageSubmitted(int stageId, int attemptId, String name, int numTasks, int[] parentIds,
            long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeStageSubmitted(h, stageId, attemptId, name, numTasks, parentIds, timeMs);
            }
        } finally {
            exit();
        }
    }

    /**
     * @param submissionTimeMs negative when unknown
     * @param failureReason null when the attempt succeeded
     * @param metrics task metrics summed over the stage's tasks, indexed by {@link StageMetricSlots}
     * @param rdds sums over the stage's RDDs, indexed by {@link RddTotalSlots}
     */
    public void onStageCompleted(int stageId, int attemptId, String name, int numTasks, int[] parentIds,
            long submissionTimeMs, long completionTimeMs, String failureReason, long[] metrics, long[] rdds) {
        long h = enter();
        try {
            if (h != 0) {
                nativeStageCompleted(h, stageId, attemptId, name, numTasks, parentIds, submissionTimeMs,
                        completionTimeMs, failureReason, metrics, rdds);
            }
        } finally {
            exit();
        }
    }

    public void onTaskStart(String executorId, long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeTaskStart(h, executorId, timeMs);
            }
        } finally {
            exit();
        }
    }

    public void onTaskEnd(String executorId) {
        long h = enter();
        try {
            if (h != 0) {
                nativeTaskEnd(h, executorId);
            }
        } finally {
            exit();
        }
    }

    /** {@code external}: the executor was started by Pacer's external pool (its tag). */
    public void onExecutorAdded(String executorId, String host, long timeMs, boolean external) {
        long h = enter();
        try {
            if (h != 0) {
                nativeExecutorAdded(h, executorId, host, timeMs, external);
            }
        } finally {
            exit();
        }
    }

    public void onExecutorRemoved(String executorId, long timeMs) {
        long h = enter();
        try {
            if (h != 0) {
                nativeExecutorRemoved(h, executorId, timeMs);
            }
        } finally {
            exit();
        }
    }

    /**
     * Waits up to {@code timeoutMs} for executor actions, to be applied in order. Returns an
     * empty list on timeout, and at once after the application ended or the core was closed.
     */
    public List<ExecutorAction> nextActions(long timeoutMs) {
        long h = enter();
        try {
            if (h == 0) {
                return Collections.emptyList();
            }
            String[] encoded = nativeNextActions(h, timeoutMs);
            List<ExecutorAction> actions = new ArrayList<>(encoded.length);
            for (String action : encoded) {
                actions.add(ExecutorAction.decode(action));
            }
            return actions;
        } finally {
            exit();
        }
    }

    /** The core's counters as a JSON object (messages sent, replies, timeouts, ...). */
    public String statsJson() {
        long h = enter();
        try {
            return h == 0 ? "{}" : nativeStats(h);
        } finally {
            exit();
        }
    }

    /** Takes up to {@code max} buffered native log records (process-wide), oldest first. */
    public static List<NativeLogRecord> drainLogs(int max) {
        String[] flat = nativeDrainLogs(max);
        List<NativeLogRecord> records = new ArrayList<>(flat.length / 3);
        for (int i = 0; i + 2 < flat.length; i += 3) {
            records.add(new NativeLogRecord(flat[i], flat[i + 1], flat[i + 2]));
        }
        return records;
    }

    /**
     * Test hook for the native error path: mode 1 makes the native call fail with an error,
     * mode 2 makes it panic; both must surface as {@link PacerNativeException}. Other modes
     * return the mode.
     */
    public static int selfTest(int mode) {
        NativeLoader.load();
        return nativeSelfTest(mode);
    }

    /**
     * Sends what is queued for the bridge (bounded by the configured shutdown timeout), stops
     * the core's thread and frees the native core. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long h = enter();
        try {
            if (h != 0) {
                nativeClose(h);
            }
        } finally {
            exit();
        }
        lock.writeLock().lock();
        try {
            long toDestroy = handle;
            handle = 0;
            if (toDestroy != 0) {
                nativeDestroy(toDestroy);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static native long nativeCreate(String[] keys, String[] values);

    private static native void nativeClose(long handle);

    private static native void nativeDestroy(long handle);

    private static native void nativeApplicationStart(long handle, String applicationId, String appName,
            long timeMs);

    private static native void nativeApplicationEnd(long handle, long timeMs);

    private static native void nativeJobStart(long handle, int jobId, long timeMs, int[] stageIds);

    private static native void nativeJobEnd(long handle, int jobId, long timeMs);

    private static native void nativeStageSubmitted(long handle, int stageId, int attemptId, String name,
            int numTasks, int[] parentIds, long timeMs);

    private static native void nativeStageCompleted(long handle, int stageId, int attemptId, String name,
            int numTasks, int[] parentIds, long submissionTimeMs, long completionTimeMs, String failureReason,
            long[] metrics, long[] rdds);

    private static native void nativeTaskStart(long handle, String executorId, long timeMs);

    private static native void nativeTaskEnd(long handle, String executorId);

    private static native void nativeExecutorAdded(long handle, String executorId, String host, long timeMs,
            boolean external);

    private static native void nativeExecutorRemoved(long handle, String executorId, long timeMs);

    private static native String[] nativeNextActions(long handle, long timeoutMs);

    private static native String[] nativeDrainLogs(int max);

    private static native String nativeStats(long handle);

    private static native int nativeSelfTest(int mode);
}
