import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.pacer.core.PacerCore;

/**
 * Per-call cost of the JNI path for a task-end event: PacerCore.onTaskEnd (read lock, native
 * call, string access, core update), measured in the JVM after warm-up.
 *
 * Usage: java -Djava.library.path=DIR -cp CLASSES JniTaskEndBench BRIDGE_ENDPOINT
 */
public final class JniTaskEndBench {
    private static final int BATCH = 1000;
    private static final int SAMPLES = 5000;

    public static void main(String[] args) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.customExtraListener.bridgeServiceAddress", args[0]);
        conf.put("spark.customExtraListener.minExecutors", "1");
        conf.put("spark.customExtraListener.maxExecutors", "8");
        conf.put("spark.customExtraListener.targetRuntime", "600000");
        conf.put("spark.customExtraListener.shutdownTimeoutMs", "100");
        String[] executors = {"1", "2", "3", "4", "5", "6", "7", "8"};
        try (PacerCore core = PacerCore.create(conf)) {
            core.onApplicationStart("app-bench", "bench", 0);
            for (String id : executors) {
                core.onExecutorAdded(id, "127.0.0.1", 0, false);
            }
            core.onJobStart(0, 1, new int[0]);
            for (int i = 0; i < 2_000_000; i++) {
                core.onTaskStart(executors[i & 7], i);
                core.onTaskEnd(executors[i & 7]);
            }
            double[] taskEnd = measure(core, executors, false);
            double[] taskStart = measure(core, executors, true);
            System.out.printf("task_end   median %.1f ns  p99 %.1f ns%n", taskEnd[0], taskEnd[1]);
            System.out.printf("task_start median %.1f ns  p99 %.1f ns%n", taskStart[0], taskStart[1]);
        }
    }

    /** Median and 99th percentile of the per-call time over batches of calls. */
    private static double[] measure(PacerCore core, String[] executors, boolean start) {
        double[] perCall = new double[SAMPLES];
        for (int s = 0; s < SAMPLES; s++) {
            long began = System.nanoTime();
            for (int i = 0; i < BATCH; i++) {
                if (start) {
                    core.onTaskStart(executors[i & 7], i);
                } else {
                    core.onTaskEnd(executors[i & 7]);
                }
            }
            perCall[s] = (System.nanoTime() - began) / (double) BATCH;
        }
        Arrays.sort(perCall);
        return new double[] {perCall[SAMPLES / 2], perCall[SAMPLES * 99 / 100]};
    }
}
