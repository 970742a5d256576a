//! The bridge's Prometheus metrics (`/metrics` of `serve --http`), kept with the `prometheus`
//! crate. Counters and histograms are updated where things happen; gauges of live state
//! (applications running, the store's queue) are read when scraped. Label sets are fixed, so
//! every handle on the hot path is resolved once, here.

use std::time::Duration;

use pacer_protocol::{Codec, EventType, ProtocolError};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

const EVENT_TYPES: [EventType; 4] = [
    EventType::ApplicationStart,
    EventType::JobStart,
    EventType::JobEnd,
    EventType::ApplicationEnd,
];
const CODECS: [Codec; 2] = [Codec::Json, Codec::MessagePack];
/// Decision latencies from 10 µs (in-memory arithmetic) to 2.5 s (a slow model fit).
const DECISION_BUCKETS: &[f64] = &[
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
    1.0, 2.5,
];
const COMMIT_BUCKETS: &[f64] = &[
    1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5,
];

/// How a finished run ended, for `pacer_bridge_runs_finished_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Met,
    Missed,
    /// A profiling run (no target).
    NoTarget,
}

pub struct Metrics {
    registry: Registry,
    /// `[event type][codec]`.
    messages: Vec<Vec<IntCounter>>,
    decode_errors: IntCounterVec,
    replies: IntCounter,
    /// `[event type]`.
    decisions: Vec<Histogram>,
    runs_started: IntCounter,
    runs_finished: [IntCounter; 3],
    applications_active: IntGauge,
    store_queue: IntGauge,
    store_commit: Histogram,
    store_changes: IntCounter,
}

fn must<T>(result: prometheus::Result<T>) -> T {
    // Only a duplicate or malformed definition fails, which the fixed set here cannot have.
    result.expect("metric definitions are valid")
}

impl Metrics {
    pub fn new(policy: &str) -> Metrics {
        let registry =
            Registry::new_custom(Some("pacer_bridge".into()), None).expect("a valid prefix");
        let register = |c: Box<dyn prometheus::core::Collector>| must(registry.register(c));

        let messages_vec = must(IntCounterVec::new(
            Opts::new(
                "messages_received_total",
                "Messages decoded, by event type and codec",
            ),
            &["event_type", "codec"],
        ));
        register(Box::new(messages_vec.clone()));
        let messages = EVENT_TYPES
            .iter()
            .map(|t| {
                CODECS
                    .iter()
                    .map(|c| messages_vec.with_label_values(&[t.wire_name(), c.name()]))
                    .collect()
            })
            .collect();

        let decode_errors = must(IntCounterVec::new(
            Opts::new(
                "decode_errors_total",
                "Messages that could not be used, by kind of problem",
            ),
            &["kind"],
        ));
        register(Box::new(decode_errors.clone()));
        for kind in ProtocolError::KINDS {
            decode_errors.with_label_values(&[kind]);
        }

        let replies = must(IntCounter::new("replies_sent_total", "Replies sent"));
        register(Box::new(replies.clone()));

        let decisions_vec = must(HistogramVec::new(
            HistogramOpts::new(
                "decision_duration_seconds",
                "Time from a decoded event to its reply, by event type",
            )
            .buckets(DECISION_BUCKETS.to_vec()),
            &["event_type"],
        ));
        register(Box::new(decisions_vec.clone()));
        let decisions = EVENT_TYPES
            .iter()
            .map(|t| decisions_vec.with_label_values(&[t.wire_name()]))
            .collect();

        let runs_started = must(IntCounter::new(
            "runs_recorded_total",
            "Runs registered (APPLICATION_START) and recorded in the history",
        ));
        register(Box::new(runs_started.clone()));
        let finished_vec = must(IntCounterVec::new(
            Opts::new(
                "runs_finished_total",
                "Finished runs, by whether they met their target",
            ),
            &["outcome"],
        ));
        register(Box::new(finished_vec.clone()));
        let runs_finished =
            ["met", "missed", "no_target"].map(|o| finished_vec.with_label_values(&[o]));

        let applications_active = must(IntGauge::new(
            "applications_active",
            "Runs in progress (started, not ended)",
        ));
        register(Box::new(applications_active.clone()));
        let store_queue = must(IntGauge::new(
            "store_write_queue_depth",
            "Changes waiting for the store's writer thread",
        ));
        register(Box::new(store_queue.clone()));
        let store_commit = must(Histogram::with_opts(
            HistogramOpts::new(
                "store_commit_duration_seconds",
                "Time of one store transaction",
            )
            .buckets(COMMIT_BUCKETS.to_vec()),
        ));
        register(Box::new(store_commit.clone()));
        let store_changes = must(IntCounter::new(
            "store_changes_committed_total",
            "Changes committed to the store",
        ));
        register(Box::new(store_changes.clone()));

        let policy_info = must(IntGaugeVec::new(
            Opts::new("policy_info", "The policy in use (value 1)"),
            &["policy"],
        ));
        register(Box::new(policy_info.clone()));
        policy_info.with_label_values(&[policy]).set(1);

        Metrics {
            registry,
            messages,
            decode_errors,
            replies,
            decisions,
            runs_started,
            runs_finished,
            applications_active,
            store_queue,
            store_commit,
            store_changes,
        }
    }

    pub fn message(&self, event_type: EventType, codec: Codec) {
        let codec = match codec {
            Codec::Json => 0,
            Codec::MessagePack => 1,
        };
        self.messages[event_type as usize][codec].inc();
    }

    pub fn decode_error(&self, kind: &str) {
        self.decode_errors.with_label_values(&[kind]).inc();
    }

    pub fn reply(&self) {
        self.replies.inc();
    }

    pub fn decision(&self, event_type: EventType, took: Duration) {
        self.decisions[event_type as usize].observe(took.as_secs_f64());
    }

    pub fn run_started(&self) {
        self.runs_started.inc();
    }

    pub fn run_finished(&self, outcome: RunOutcome) {
        self.runs_finished[outcome as usize].inc();
    }

    pub fn store_committed(&self, changes: usize, took: Duration) {
        self.store_commit.observe(took.as_secs_f64());
        self.store_changes.inc_by(changes as u64);
    }

    /// The text exposition format, with the live gauges as they are now.
    pub fn render(&self, applications_active: usize, store_queue: usize) -> String {
        self.applications_active.set(applications_active as i64);
        self.store_queue.set(store_queue as i64);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_carries_every_metric_with_its_labels() {
        let m = Metrics::new("pacer");
        m.message(EventType::JobEnd, Codec::MessagePack);
        m.message(EventType::JobEnd, Codec::MessagePack);
        m.decode_error("invalid");
        m.reply();
        m.decision(EventType::JobEnd, Duration::from_micros(40));
        m.run_started();
        m.run_finished(RunOutcome::Missed);
        m.store_committed(3, Duration::from_millis(2));
        let text = m.render(2, 5);
        for line in [
            r#"pacer_bridge_messages_received_total{codec="msgpack",event_type="JOB_END"} 2"#,
            r#"pacer_bridge_messages_received_total{codec="json",event_type="APPLICATION_START"} 0"#,
            r#"pacer_bridge_decode_errors_total{kind="invalid"} 1"#,
            "pacer_bridge_replies_sent_total 1",
            r#"pacer_bridge_decision_duration_seconds_bucket{event_type="JOB_END",le="0.00005"} 1"#,
            r#"pacer_bridge_decision_duration_seconds_count{event_type="JOB_END"} 1"#,
            "pacer_bridge_runs_recorded_total 1",
            r#"pacer_bridge_runs_finished_total{outcome="missed"} 1"#,
            r#"pacer_bridge_runs_finished_total{outcome="met"} 0"#,
            "pacer_bridge_applications_active 2",
            "pacer_bridge_store_write_queue_depth 5",
            "pacer_bridge_store_changes_committed_total 3",
            "pacer_bridge_store_commit_duration_seconds_count 1",
            r#"pacer_bridge_policy_info{policy="pacer"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
