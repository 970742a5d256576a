package dev.pacer.core;

/** One thing to do to Spark's executors, as decided by the native core. */
public final class ExecutorAction {
    public enum Kind {
        /** {@code SparkContext.requestTotalExecutors(total, 0, Map())}. */
        REQUEST_TOTAL,
        /** {@code SparkContext.killExecutor(executorId)}. */
        KILL
    }

    private final Kind kind;
    private final int total;
    private final String executorId;

    private ExecutorAction(Kind kind, int total, String executorId) {
        this.kind = kind;
        this.total = total;
        this.executorId = executorId;
    }

    public static ExecutorAction requestTotal(int total) {
        return new ExecutorAction(Kind.REQUEST_TOTAL, total, null);
    }

    public static ExecutorAction kill(String executorId) {
        return new ExecutorAction(Kind.KILL, -1, executorId);
    }

    /** Decodes the native encoding: {@code total:<n>} or {@code kill:<executor id>}. */
    static ExecutorAction decode(String encoded) {
        int colon = encoded.indexOf(':');
        String kind = colon < 0 ? encoded : encoded.substring(0, colon);
        String value = colon < 0 ? "" : encoded.substring(colon + 1);
        if (kind.equals("total")) {
            return requestTotal(Integer.parseInt(value));
        }
        if (kind.equals("kill")) {
            return kill(value);
        }
        throw new PacerNativeException("unknown executor action '" + encoded + "'");
    }

    public Kind kind() {
        return kind;
    }

    /** The total for {@link Kind#REQUEST_TOTAL}. */
    public int total() {
        return total;
    }

    /** The executor for {@link Kind#KILL}. */
    public String executorId() {
        return executorId;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof ExecutorAction)) {
            return false;
        }
        ExecutorAction that = (ExecutorAction) other;
        return kind == that.kind && total == that.total
                && (executorId == null ? that.executorId == null : executorId.equals(that.executorId));
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + total + (executorId == null ? 0 : executorId.hashCode());
    }

    @Override
    public String toString() {
        return kind == Kind.KILL ? "kill " + executorId : "request " + total + " executors";
    }
}
