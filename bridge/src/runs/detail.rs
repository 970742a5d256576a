//! `runs --run ID`: one run in detail, to read why each scale-out was chosen: the summary,
//! every decision with the policy's reason, every job with the end the bridge predicted after
//! it against the actual end. In JSON, keys ending in `_at_ms` are milliseconds since the
//! run's start.

use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use super::{runtime_text, scale_outs_text, target_text, RunView, SummaryJson};
use crate::output::{or_dash, seconds, Report};
use crate::trace::format_timestamp;

/// One run as `pacer-bridge runs --run ID` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport(pub RunView);

#[derive(Serialize)]
struct DecisionJson<'a> {
    at_ms: i64,
    event_type: &'a str,
    job_id: Option<i64>,
    from_scale_out: Option<i64>,
    to_scale_out: i64,
    reason: &'a str,
}

#[derive(Serialize)]
struct JobJson {
    job_id: i64,
    started_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    duration_ms: Option<i64>,
    start_executors: Option<i64>,
    end_executors: Option<i64>,
    predicted_end_at_ms: Option<i64>,
    /// Predicted end minus the actual end (`runtime_ms`).
    prediction_error_ms: Option<i64>,
}

#[derive(Serialize)]
struct DetailJson<'a> {
    #[serde(flatten)]
    summary: SummaryJson<'a>,
    outcome: &'static str,
    final_scale_out: Option<i64>,
    executor_minutes: f64,
    rescalings: usize,
    decisions: Vec<DecisionJson<'a>>,
    jobs: Vec<JobJson>,
}

impl Serialize for RunReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let view = &self.0;
        let at = |ms: Option<i64>| ms.map(|ms| view.since_start(ms));
        DetailJson {
            summary: SummaryJson::of(&view.detail.summary),
            outcome: view.outcome(),
            final_scale_out: view.detail.final_scale_out,
            executor_minutes: view.executor_minutes,
            rescalings: view.rescalings,
            decisions: view
                .detail
                .decisions
                .iter()
                .map(|d| DecisionJson {
                    at_ms: view.since_start(d.time_ms),
                    event_type: &d.event_type,
                    job_id: d.job_id,
                    from_scale_out: d.from_scale_out,
                    to_scale_out: d.to_scale_out,
                    reason: &d.reason,
                })
                .collect(),
            jobs: view
                .detail
                .jobs
                .iter()
                .map(|j| JobJson {
                    job_id: j.job_id,
                    started_at_ms: at(j.start_ms),
                    ended_at_ms: at(j.end_ms),
                    duration_ms: j.duration_ms(),
                    start_executors: j.start_scale_out,
                    end_executors: j.end_scale_out,
                    predicted_end_at_ms: at(j.predicted_end_ms),
                    prediction_error_ms: view.prediction_error_ms(j),
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

impl Report for RunReport {
    fn table(&self) -> String {
        let view = &self.0;
        let s = &view.detail.summary;
        let since = |ms: Option<i64>| ms.map_or("-".into(), |ms| seconds(view.since_start(ms)));
        let mut out = String::new();
        for (key, value) in [
            ("RUN", s.app_event_id.clone()),
            ("APP", s.app_name.clone()),
            ("POLICY", s.policy.clone()),
            (
                "KIND",
                if s.is_adaptive {
                    "adaptive"
                } else {
                    "profiling"
                }
                .into(),
            ),
            ("START (UTC)", format_timestamp(s.start_ms)),
            ("RUNTIME s", runtime_text(s)),
            ("TARGET s", target_text(s)),
            ("OUTCOME", view.outcome().into()),
            ("SCALE-OUTS", scale_outs_text(s)),
            ("RESCALINGS", view.rescalings.to_string()),
            ("EXECUTOR-MIN", format!("{:.2}", view.executor_minutes)),
        ] {
            let _ = writeln!(out, "{key:<13} {value}");
        }

        let _ = writeln!(out, "\nDECISIONS (AT: seconds since the start)");
        let _ = writeln!(
            out,
            "{:>8} {:<17} {:>5} {:>5} {:>5}  REASON",
            "AT s", "EVENT", "JOB", "FROM", "TO"
        );
        for d in &view.detail.decisions {
            let _ = writeln!(
                out,
                "{:>8} {:<17} {:>5} {:>5} {:>5}  {}",
                seconds(view.since_start(d.time_ms)),
                d.event_type,
                or_dash(d.job_id),
                or_dash(d.from_scale_out),
                d.to_scale_out,
                d.reason
            );
        }

        let _ = writeln!(
            out,
            "\nJOBS (seconds since the start; ERROR: predicted end − actual end)"
        );
        let _ = writeln!(
            out,
            "{:>5} {:>8} {:>8} {:>10} {:>10} {:>8} {:>15} {:>12} {:>8}",
            "JOB",
            "START s",
            "END s",
            "DURATION s",
            "EXEC START",
            "EXEC END",
            "PREDICTED END s",
            "ACTUAL END s",
            "ERROR s"
        );
        let actual_end = since(s.end_ms);
        for j in &view.detail.jobs {
            let _ = writeln!(
                out,
                "{:>5} {:>8} {:>8} {:>10} {:>10} {:>8} {:>15} {:>12} {:>8}",
                j.job_id,
                since(j.start_ms),
                since(j.end_ms),
                j.duration_ms().map_or("-".into(), seconds),
                or_dash(j.start_scale_out),
                or_dash(j.end_scale_out),
                since(j.predicted_end_ms),
                if j.predicted_end_ms.is_some() {
                    actual_end.as_str()
                } else {
                    "-"
                },
                view.prediction_error_ms(j)
                    .map_or("-".into(), |ms| format!("{:+.1}", ms as f64 / 1000.0)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::view::tests::detail;

    fn report() -> RunReport {
        let mut d = detail(Some(121_000));
        d.jobs[0].predicted_end_ms = Some(130_000);
        d.decisions[1].reason = "job 0 ran long: 4 executors".into();
        RunReport(RunView::of(d))
    }

    #[test]
    fn the_table_shows_reasons_and_the_prediction_error() {
        let table = report().table();
        assert!(table.contains("job 0 ran long: 4 executors"), "{table}");
        let job0 = table
            .lines()
            .find(|l| l.trim_start().starts_with("0 ") && l.contains("129.0"))
            .unwrap_or_else(|| panic!("no line of job 0 with its prediction: {table}"));
        // Predicted 129.0 s after the start, ended at 120.0 s.
        assert!(
            job0.contains("120.0") && job0.trim_end().ends_with("+9.0"),
            "{job0}"
        );
        assert!(table.contains("OUTCOME       missed"), "{table}");
    }

    #[test]
    fn the_json_keeps_the_summary_keys_and_times_since_the_start() {
        let json: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(json["app_event_id"], "7");
        assert_eq!(json["runtime_ms"], 120_000);
        assert_eq!(json["outcome"], "missed");
        assert_eq!(
            json["decisions"][1]["reason"],
            "job 0 ran long: 4 executors"
        );
        assert_eq!(json["jobs"][0]["started_at_ms"], 1_000);
        assert_eq!(json["jobs"][0]["predicted_end_at_ms"], 129_000);
        assert_eq!(json["jobs"][0]["prediction_error_ms"], 9_000);
        assert_eq!(
            json["jobs"][1]["prediction_error_ms"],
            serde_json::Value::Null
        );
    }
}
