package dev.pacer.core;

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
        core.onExecutorAdded("1", "127.0.0.1", 1);
        core.onExecutorAdded("2", "127.0.0.1", 1);
        core.onApplicationStart("app-jni", "JNI test with Params(x)", 10);
        core.onJobStart(0, 20, new int[] {0});
        core.onStageSubmitted(0, 0, "first", 2, new int[0], 21);
        core.onTaskStart("1", 22);
        core.onTaskEnd("1");
        long[] metrics = {2000, 1000000000L, 100, 0, 0, 10, 0, 0, 0};
        core.onStageCompleted(0, 0, "first", 2, new int[0], 21, 30, null, metrics, new long[] {2, 0, 0, 0});
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
            core.onStageCompleted(0, 0, "s", 1, new int[0], -1, 5, "failed", new long[3], new long[4]);
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
}
