package dev.pacer.spark;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pacer.core.NativeLogRecord;
import dev.pacer.core.PacerCore;

/** Forwards the native core's buffered log records to slf4j under the logger {@code dev.pacer}. */
final class NativeLogs {
    static final Logger LOG = LoggerFactory.getLogger("dev.pacer");

    private NativeLogs() {
    }

    static void forward() {
        for (NativeLogRecord record : PacerCore.drainLogs(1000)) {
            String message = record.message();
            switch (record.level()) {
                case "ERROR":
                    LOG.error(message);
                    break;
                case "WARN":
                    LOG.warn(message);
                    break;
                case "INFO":
                    LOG.info(message);
                    break;
                case "DEBUG":
                    LOG.debug(message);
                    break;
                default:
                    LOG.trace(message);
            }
        }
    }
}
