package dev.pacer.spark;

import java.util.List;

import org.apache.spark.SparkContext;

import dev.pacer.core.ExecutorAction;
import dev.pacer.core.PacerCore;

import scala.Option;

/**
 * The {@code pacer-actuator} daemon thread: waits for the core's decisions and applies them to
 * Spark, so the listener bus never waits for anything. It also forwards native log records.
 */
final class ExecutorActuator {
    /** How long one wait for actions lasts; bounds how late a stop or a log line is noticed. */
    private static final long POLL_MS = 500;

    interface FailureHandler {
        void failed(String where, Throwable failure);
    }

    private final PacerCore core;
    private final FailureHandler onFailure;
    private final Thread thread;
    private volatile boolean running = true;

    ExecutorActuator(PacerCore core, FailureHandler onFailure) {
        this.core = core;
        this.onFailure = onFailure;
        this.thread = new Thread(this::loop, "pacer-actuator");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The thread ends within one poll; at once when the core is closed. */
    void stop() {
        running = false;
    }

    private void loop() {
        try {
            SparkContext context = awaitContext();
            if (context == null) {
                return;
            }
            boolean scalable = !context.isLocal();
            if (!scalable) {
                NativeLogs.LOG.info("Pacer: local mode has no executors to scale; scaling is unavailable, "
                        + "events are still reported to the bridge");
            }
            while (running) {
                List<ExecutorAction> actions = core.nextActions(POLL_MS);
                NativeLogs.forward();
                if (scalable) {
                    apply(context, actions);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            onFailure.failed("pacer-actuator", t);
        }
    }

    /**
     * The listener is created while the SparkContext is still being constructed: wait until it
     * is the active context. Decisions made meanwhile wait in the core.
     */
    private SparkContext awaitContext() throws InterruptedException {
        while (running) {
            NativeLogs.forward();
            Option<SparkContext> active = org.apache.spark.SparkContext$.MODULE$.getActive();
            if (active.isDefined()) {
                return active.get();
            }
            Thread.sleep(100);
        }
        return null;
    }

    private static void apply(SparkContext context, List<ExecutorAction> actions) {
        for (ExecutorAction action : actions) {
            try {
                boolean accepted;
                if (action.kind() == ExecutorAction.Kind.KILL) {
                    // One id at a time: killExecutors(Seq) differs between Scala versions.
                    accepted = context.killExecutor(action.executorId());
                } else {
                    accepted = context.requestTotalExecutors(action.total(), 0,
                            scala.collection.immutable.Map$.MODULE$.<String, Object>empty());
                }
                if (!accepted) {
                    NativeLogs.LOG.warn("Pacer: Spark did not accept '{}'", action);
                }
            } catch (RuntimeException e) {
                NativeLogs.LOG.warn("Pacer: could not apply '{}': {}", action, e.toString());
            }
        }
    }
}
