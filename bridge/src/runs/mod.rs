//! The `runs` command: one summary per past or running run, or one run in detail
//! ([`RunReport`], `--run ID`), as a table or JSON. [`RunView`] derives what a run's detail
//! shows, here and in the live view's pages.

mod detail;
pub mod view;

use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use crate::output::{seconds, truncate, Report};
use crate::trace::format_timestamp;

pub use detail::RunReport;
pub use view::RunView;

/// A past or running application.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub app_event_id: String,
    pub app_name: String,
    pub is_adaptive: bool,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub target_runtime_ms: i64,
    /// Initial scale-out, then every change, in order.
    pub scale_outs: Vec<u32>,
    pub policy: String,
}

impl RunSummary {
    pub fn runtime_ms(&self) -> Option<i64> {
        self.end_ms.map(|end| end - self.start_ms)
    }

    /// None while running or for profiling runs (no target).
    pub fn met_target(&self) -> Option<bool> {
        match (
            self.runtime_ms(),
            self.is_adaptive && self.target_runtime_ms > 0,
        ) {
            (Some(runtime), true) => Some(runtime <= self.target_runtime_ms),
            _ => None,
        }
    }
}

/// Runs as `pacer-bridge runs` lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunList(pub Vec<RunSummary>);

/// A run summary in JSON: a row of the listing, and the first keys of a run's detail.
/// Keys in alphabetical order, as the listing has always written them.
#[derive(Serialize)]
struct SummaryJson<'a> {
    adaptive: bool,
    app_event_id: &'a str,
    app_name: &'a str,
    met_target: Option<bool>,
    policy: &'a str,
    runtime_ms: Option<i64>,
    scale_outs: &'a [u32],
    start: String,
    target_ms: i64,
}

impl<'a> SummaryJson<'a> {
    fn of(r: &'a RunSummary) -> SummaryJson<'a> {
        SummaryJson {
            adaptive: r.is_adaptive,
            app_event_id: &r.app_event_id,
            app_name: &r.app_name,
            met_target: r.met_target(),
            policy: &r.policy,
            runtime_ms: r.runtime_ms(),
            scale_outs: &r.scale_outs,
            start: format_timestamp(r.start_ms),
            target_ms: r.target_runtime_ms,
        }
    }
}

impl Serialize for RunList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(SummaryJson::of))
    }
}

/// The runtime in seconds, or "running".
fn runtime_text(r: &RunSummary) -> String {
    r.runtime_ms().map_or("running".to_string(), seconds)
}

/// The target in seconds, or "profiling".
fn target_text(r: &RunSummary) -> String {
    if r.is_adaptive {
        seconds(r.target_runtime_ms)
    } else {
        "profiling".into()
    }
}

/// The scale-outs as `2→4→4`.
fn scale_outs_text(r: &RunSummary) -> String {
    let scale_outs: Vec<String> = r.scale_outs.iter().map(u32::to_string).collect();
    scale_outs.join("→")
}

impl Report for RunList {
    fn table(&self) -> String {
        let mut out = format!(
            "{:<6} {:<28} {:<23} {:>10} {:>10} {:<5} SCALE-OUTS\n",
            "ID", "APP", "START (UTC)", "RUNTIME s", "TARGET s", "MET"
        );
        for r in &self.0 {
            let met = match r.met_target() {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            };
            let _ = writeln!(
                out,
                "{:<6} {:<28} {:<23} {:>10} {:>10} {:<5} {}",
                r.app_event_id,
                truncate(&r.app_name, 28),
                format_timestamp(r.start_ms),
                runtime_text(r),
                target_text(r),
                met,
                scale_outs_text(r)
            );
        }
        out
    }
}
