//! The pages of the live view, rendered with askama from the history store. The templates are
//! in `bridge/templates/` and compiled into the binary.

use std::collections::BTreeMap;

use askama::Template;

use super::charts;
use crate::output::{or_dash, seconds};
use crate::runs::RunView;
use crate::store::{Reader, StoreError};
use crate::trace::format_timestamp;

/// Runs listed per application on the index page, newest first.
const RUNS_PER_APP: usize = 50;

/// A run as a row of the index and the run page.
pub struct RunRow {
    pub id: String,
    pub started: String,
    pub kind: &'static str,
    pub target: String,
    pub runtime: String,
    pub outcome: &'static str,
    pub executor_minutes: String,
    pub rescalings: usize,
    pub policy: String,
}

impl RunRow {
    fn of(view: &RunView) -> RunRow {
        let s = &view.detail.summary;
        RunRow {
            id: s.app_event_id.clone(),
            started: format_timestamp(s.start_ms),
            kind: if s.is_adaptive {
                "adaptive"
            } else {
                "profiling"
            },
            target: if s.is_adaptive {
                seconds(s.target_runtime_ms)
            } else {
                "-".into()
            },
            runtime: s.runtime_ms().map_or("running".into(), seconds),
            outcome: view.outcome(),
            executor_minutes: format!("{:.2}", view.executor_minutes),
            rescalings: view.rescalings,
            policy: s.policy.clone(),
        }
    }
}

pub struct AppSection {
    pub name: String,
    pub total: usize,
    pub met: usize,
    pub missed: usize,
    pub runs: Vec<RunRow>,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub apps: Vec<AppSection>,
    pub refresh: bool,
    pub version: &'static str,
    pub policy: String,
}

pub struct DecisionRow {
    pub at: String,
    pub event: String,
    pub job: String,
    pub from: String,
    pub to: i64,
    pub reason: String,
}

pub struct JobRow {
    pub id: i64,
    pub start: String,
    pub end: String,
    pub duration: String,
    pub start_executors: String,
    pub end_executors: String,
    pub predicted_finish: String,
}

#[derive(Template)]
#[template(path = "run.html")]
pub struct RunPage {
    pub app_name: String,
    pub run: RunRow,
    pub executors_chart: String,
    pub predictions_chart: Option<String>,
    pub decisions: Vec<DecisionRow>,
    pub jobs: Vec<JobRow>,
    pub refresh: bool,
    pub version: &'static str,
    pub policy: String,
}

/// The applications with their newest runs, applications in name order.
pub fn index(reader: &Reader, policy: &str) -> Result<IndexPage, StoreError> {
    let mut by_app: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for run in reader.runs(None)? {
        by_app
            .entry(run.app_name)
            .or_default()
            .push(run.app_event_id);
    }
    let mut apps = Vec::new();
    let mut refresh = false;
    for (name, ids) in by_app {
        let mut views = Vec::new();
        for id in ids.iter().rev().take(RUNS_PER_APP) {
            if let Some(detail) = reader.run_detail(id)? {
                views.push(RunView::of(detail));
            }
        }
        refresh |= views.iter().any(RunView::is_running);
        let count = |outcome| views.iter().filter(|v| v.outcome() == outcome).count();
        apps.push(AppSection {
            name,
            total: ids.len(),
            met: count("met"),
            missed: count("missed"),
            runs: views.iter().map(RunRow::of).collect(),
        });
    }
    Ok(IndexPage {
        apps,
        refresh,
        version: env!("CARGO_PKG_VERSION"),
        policy: policy.to_string(),
    })
}

/// One run; None when there is no such run.
pub fn run(reader: &Reader, id: &str, policy: &str) -> Result<Option<RunPage>, String> {
    let Some(detail) = reader.run_detail(id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let view = RunView::of(detail);
    let since_start = |ms: i64| seconds(view.since_start(ms));
    let decisions = view
        .detail
        .decisions
        .iter()
        .map(|d| DecisionRow {
            at: since_start(d.time_ms),
            event: d.event_type.clone(),
            job: or_dash(d.job_id),
            from: or_dash(d.from_scale_out),
            to: d.to_scale_out,
            reason: d.reason.clone(),
        })
        .collect();
    let jobs = view
        .detail
        .jobs
        .iter()
        .map(|j| JobRow {
            id: j.job_id,
            start: j.start_ms.map_or("-".into(), since_start),
            end: j.end_ms.map_or("-".into(), since_start),
            duration: j.duration_ms().map_or("-".into(), seconds),
            start_executors: or_dash(j.start_scale_out),
            end_executors: or_dash(j.end_scale_out),
            predicted_finish: j.predicted_end_ms.map_or("-".into(), since_start),
        })
        .collect();
    Ok(Some(RunPage {
        app_name: view.detail.summary.app_name.clone(),
        run: RunRow::of(&view),
        executors_chart: charts::executors_chart(&view)?,
        predictions_chart: charts::predictions_chart(&view)?,
        decisions,
        jobs,
        refresh: view.is_running(),
        version: env!("CARGO_PKG_VERSION"),
        policy: policy.to_string(),
    }))
}
