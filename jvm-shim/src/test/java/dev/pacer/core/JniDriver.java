package dev.pacer.core;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Drives {@link PacerCore} for the Rust JNI tests, which start a JVM in-process. */
public final class JniDriver {
    private JniDriver() {
    }

    private static Map<String, String> config(String endpoint, String... extra) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.customExtraListener.bridgeServiceAddress", endpoint);
        conf.put("spark.customExtraListener.minExecutors", "1");
        conf.put("spark.customExtraListener.maxExecutors", "8");
        conf.put("spark.customExtraListener.targetRuntime", "60000");
        conf.put("spark.customExtraListener.executorRequestTimeoutMs", "50");
        conf.put("spark.customExtraListener.shutdownTimeoutMs", "1000");
        for (int i = 0; i + 1 < extra.length; i += 2) {
            conf.put(extra[i], extra[i + 1]);
        }
        return conf;
    }

    /** "created", "disabled" or the exception's class and message. */
    public static String tryCreate(String endpoint, String key, String value) {
        try (PacerCore core = PacerCore.create(config(endpoint, key, value))) {
            return core == null ? "disabled" : "created";
        } catch (PacerNativeException e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    /** A small application against the bridge at {@code endpoint}; returns the actions and stats. */
    public static String runApplication(String endpoint) throws InterruptedException {
        PacerCore core = PacerCore.create(config(endpoint));
        core.onExecutorAdded("1", "127.0.0.1", 1, false);
        core.onExecutorAdded("2", "127.0.0.1", 1, false);
        core.onApplicationStart("app-jni", "JNI test with Params(x)", 10);
        core.onJobStart(0, 20, new int[] {0});
        core.onStageSubmitted(0, 0, "first", 2, new int[0], 21);
        core.onTaskStart("1", 22);
        core.onTaskEnd("1");
        long[] metrics = new long[StageMetricSlots.COUNT];
        metrics[StageMetricSlots.EXECUTOR_RUN_TIME_MS] = 2000;
        metrics[StageMetricSlots.EXECUTOR_CPU_TIME_NS] = 1000000000L;
        metrics[StageMetricSlots.JVM_GC_TIME_MS] = 100;
        metrics[StageMetricSlots.INPUT_BYTES] = 10;
        long[] rdds = new long[RddTotalSlots.COUNT];
        rdds[RddTotalSlots.NUM_PARTITIONS] = 2;
        core.onStageCompleted(0, 0, "first", 2, new int[0], 21, 30, null, metrics, rdds);
        core.onJobEnd(0, 31);
        List<ExecutorAction> actions = core.nextActions(10000);
        core.onApplicationEnd(40);
        String stats = core.statsJson();
        core.close();
        core.close();
        core.onTaskEnd("1");
        return actions + " " + stats + " " + core.nextActions(10);
    }

    /** A malformed call: the metrics array has the wrong length. */
    public static String wrongMetricsLength(String endpoint) {
        try (PacerCore core = PacerCore.create(config(endpoint))) {
            core.onStageCompleted(0, 0, "s", 1, new int[0], -1, 5, "failed", new long[3],
                    new long[RddTotalSlots.COUNT]);
            return "no exception";
        } catch (PacerNativeException e) {
            return e.getMessage();
        }
    }

    /** Forwards nothing: returns the drained native log lines, one per line. */
    public static String drainedLogs() {
        StringBuilder out = new StringBuilder();
        for (NativeLogRecord record : PacerCore.drainLogs(10000)) {
            out.append(record).append('\n');
        }
        return out.toString();
    }

    /**
     * The {@code public static final int} slot constants of {@code className} in index order,
     * comma-separated ({@code COUNT} is the length, not a slot), or what is wrong with them.
     */
    public static String javaSlots(String className) throws ReflectiveOperationException {
        Class<?> slots = Class.forName(className);
        int count = slots.getField("COUNT").getInt(null);
        String[] names = new String[count];
        for (Field field : slots.getDeclaredFields()) {
            int modifiers = field.getModifiers();
            if (!Modifier.isStatic(modifiers) || field.getType() != int.class || field.getName().equals("COUNT")) {
                continue;
            }
            int index = field.getInt(null);
            if (index < 0 || index >= count || names[index] != null) {
                return field.getName() + "=" + index + " is out of range or taken (COUNT=" + count + ")";
            }
            names[index] = field.getName();
        }
        return String.join(",", names);
    }

    /** The native core's slot names of {@code className} in index order, comma-separated. */
    public static String nativeSlots(String className) {
        NativeLoader.load();
        if (className.equals(StageMetricSlots.class.getName())) {
            return String.join(",", StageMetricSlots.nativeNames());
        }
        if (className.equals(RddTotalSlots.class.getName())) {
            return String.join(",", RddTotalSlots.nativeNames());
        }
        throw new IllegalArgumentException(className);
    }
}
