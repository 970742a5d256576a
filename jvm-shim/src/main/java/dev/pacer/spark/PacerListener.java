package dev.pacer.spark;

import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.spark.SparkConf;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerApplicationEnd;
import org.apache.spark.scheduler.SparkListenerApplicationStart;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.storage.RDDInfo;

import dev.pacer.core.NativeLoader;
import dev.pacer.core.PacerCore;
import dev.pacer.core.RddTotalSlots;
import dev.pacer.core.StageMetricSlots;

import scala.Option;

/**
 * Pacer's Spark listener: {@code --conf spark.extraListeners=dev.pacer.spark.PacerListener}.
 *
 * <p>It extracts primitives from Spark's events and hands them to the native core; the
 * {@code pacer-actuator} thread applies the core's decisions. It never lets a failure reach
 * Spark: the first one logs one ERROR line and turns Pacer off, and the application goes on.
 */
public class PacerListener extends SparkListener {
    /**
     * The tag of executors that Pacer's external pool started: a worker agent sets
     * {@code SPARK_EXECUTOR_ATTRIBUTE_PACER_POOL=external}, which Spark reports as this attribute.
     */
    private static final String POOL_ATTRIBUTE = "PACER_POOL";
    private static final String EXTERNAL_POOL = "external";

    private final AtomicBoolean failed = new AtomicBoolean();
    private volatile PacerCore core;
    private volatile ExecutorActuator actuator;

    public PacerListener(SparkConf conf) {
        try {
            PacerCore created = PacerCore.create(SparkSettings.of(conf));
            if (created == null) {
                NativeLogs.LOG.info("Pacer is disabled (spark.customExtraListener.enabled=false)");
                return;
            }
            core = created;
            NativeLogs.forward();
            if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
                NativeLogs.LOG.warn("Pacer: spark.dynamicAllocation.enabled=true, so Spark's allocation manager also "
                        + "sets the executor count. Pacer requests totals but kills no executors: idle executors "
                        + "leave after spark.dynamicAllocation.executorIdleTimeout. Set "
                        + "spark.dynamicAllocation.enabled=false to let Pacer scale alone.");
            }
            ExecutorActuator started = new ExecutorActuator(created, this::disable);
            actuator = started;
            started.start();
            NativeLogs.LOG.info("Pacer listener active (native library from {})", NativeLoader.source());
        } catch (Throwable t) {
            disable("start-up", t);
        }
    }

    /** Turns Pacer off after its first failure, with one ERROR line; later failures are silent. */
    private void disable(String where, Throwable failure) {
        PacerCore failedCore = core;
        core = null;
        if (!failed.compareAndSet(false, true)) {
            return;
        }
        NativeLogs.LOG.error("Pacer disabled after a failure in {}: {}; the application continues without Pacer",
                where, String.valueOf(failure));
        ExecutorActuator running = actuator;
        if (running != null) {
            running.stop();
        }
        if (failedCore != null) {
            // Closing may wait for the bridge: never on the listener bus.
            Thread closer = new Thread(() -> {
                try {
                    failedCore.close();
                } catch (Throwable ignored) {
                    // Already disabled and reported.
                }
            }, "pacer-close");
            closer.setDaemon(true);
            closer.start();
        }
    }

    @Override
    public void onApplicationStart(SparkListenerApplicationStart event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            Option<String> id = event.appId();
            c.onApplicationStart(id.isDefined() ? id.get() : "", event.appName(), event.time());
        } catch (Throwable t) {
            disable("onApplicationStart", t);
        }
    }

    @Override
    public void onApplicationEnd(SparkListenerApplicationEnd event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onApplicationEnd(event.time());
            ExecutorActuator running = actuator;
            if (running != null) {
                running.stop();
            }
            // Sends APPLICATION_END, bounded by spark.customExtraListener.shutdownTimeoutMs.
            c.close();
            NativeLogs.forward();
            core = null;
        } catch (Throwable t) {
            disable("onApplicationEnd", t);
        }
    }

    @Override
    public void onJobStart(SparkListenerJobStart event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onJobStart(event.jobId(), event.time(), ScalaValues.ints(event.stageIds()));
        } catch (Throwable t) {
            disable("onJobStart", t);
        }
    }

    @Override
    public void onJobEnd(SparkListenerJobEnd event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onJobEnd(event.jobId(), event.time());
        } catch (Throwable t) {
            disable("onJobEnd", t);
        }
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            StageInfo info = event.stageInfo();
            long submitted = ScalaValues.longOr(info.submissionTime(), System.currentTimeMillis());
            c.onStageSubmitted(info.stageId(), info.attemptNumber(), info.name(), info.numTasks(),
                    ScalaValues.ints(info.parentIds()), submitted);
        } catch (Throwable t) {
            disable("onStageSubmitted", t);
        }
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            StageInfo info = event.stageInfo();
            c.onStageCompleted(info.stageId(), info.attemptNumber(), info.name(), info.numTasks(),
                    ScalaValues.ints(info.parentIds()), ScalaValues.longOr(info.submissionTime(), -1L),
                    ScalaValues.longOr(info.completionTime(), System.currentTimeMillis()),
                    ScalaValues.stringOrNull(info.failureReason()), metrics(info.taskMetrics()), rdds(info));
        } catch (Throwable t) {
            disable("onStageCompleted", t);
        }
    }

    private static long[] metrics(TaskMetrics m) {
        long[] values = new long[StageMetricSlots.COUNT];
        if (m == null) {
            return values;
        }
        values[StageMetricSlots.EXECUTOR_RUN_TIME_MS] = m.executorRunTime();
        values[StageMetricSlots.EXECUTOR_CPU_TIME_NS] = m.executorCpuTime();
        values[StageMetricSlots.JVM_GC_TIME_MS] = m.jvmGCTime();
        values[StageMetricSlots.SHUFFLE_READ_BYTES] = m.shuffleReadMetrics().totalBytesRead();
        values[StageMetricSlots.SHUFFLE_WRITE_BYTES] = m.shuffleWriteMetrics().bytesWritten();
        values[StageMetricSlots.INPUT_BYTES] = m.inputMetrics().bytesRead();
        values[StageMetricSlots.OUTPUT_BYTES] = m.outputMetrics().bytesWritten();
        values[StageMetricSlots.DISK_BYTES_SPILLED] = m.diskBytesSpilled();
        values[StageMetricSlots.PEAK_EXECUTION_MEMORY] = m.peakExecutionMemory();
        return values;
    }

    private static long[] rdds(StageInfo info) {
        long[] totals = new long[RddTotalSlots.COUNT];
        scala.collection.Iterator<RDDInfo> it = info.rddInfos().iterator();
        while (it.hasNext()) {
            RDDInfo rdd = it.next();
            totals[RddTotalSlots.NUM_PARTITIONS] += rdd.numPartitions();
            totals[RddTotalSlots.NUM_CACHED_PARTITIONS] += rdd.numCachedPartitions();
            totals[RddTotalSlots.MEM_SIZE] += rdd.memSize();
            totals[RddTotalSlots.DISK_SIZE] += rdd.diskSize();
        }
        return totals;
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onTaskStart(event.taskInfo().executorId(), event.taskInfo().launchTime());
        } catch (Throwable t) {
            disable("onTaskStart", t);
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onTaskEnd(event.taskInfo().executorId());
        } catch (Throwable t) {
            disable("onTaskEnd", t);
        }
    }

    @Override
    public void onExecutorAdded(SparkListenerExecutorAdded event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onExecutorAdded(event.executorId(), event.executorInfo().executorHost(), event.time(),
                    EXTERNAL_POOL.equals(ScalaValues.valueOrNull(event.executorInfo().attributes(), POOL_ATTRIBUTE)));
        } catch (Throwable t) {
            disable("onExecutorAdded", t);
        }
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved event) {
        PacerCore c = core;
        if (c == null) {
            return;
        }
        try {
            c.onExecutorRemoved(event.executorId(), event.time());
        } catch (Throwable t) {
            disable("onExecutorRemoved", t);
        }
    }
}
