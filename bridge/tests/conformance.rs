//! `--policy ellis-abe` against the original Python Ellis bridge: the recorded sessions'
//! requests are replayed into a real server and its model-based recommendations compared with
//! the original's replies (docs/ELLIS.md, "Differences from the deployed original bridge").
//!
//! The sessions are read from `FIXTURES_DIR` (default `../shared/fixtures` beside the
//! repository; a relative path is taken from the repository's root); the test is skipped when
//! the folder is absent.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// Share of the original's model-based decisions ellis-abe must match within one executor.
const REQUIRED_WITHIN_ONE: f64 = 0.9;

fn fixtures_dir() -> PathBuf {
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let folder = std::env::var_os("FIXTURES_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| "../shared/fixtures".into(), PathBuf::from);
    repository.join(folder)
}

/// The (request, reply) pairs of a recorded session, in order; None when the fixtures folder
/// is absent.
fn session(name: &str) -> Option<Vec<(Value, Value)>> {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: no folder {} (set FIXTURES_DIR to the folder holding {name})",
            dir.display()
        );
        return None;
    }
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect();
    let frame = |line: &Value, field: &str| -> Value {
        let raw = line[field]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no {field}"));
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("{name}: {field}: {e}"))
    };
    let pairs = if lines.iter().any(|l| l.get("dir").is_some()) {
        // One line per frame: "in" (request), then "out" (its reply).
        lines
            .chunks(2)
            .map(|pair| {
                assert_eq!(
                    (pair[0]["dir"].as_str(), pair[1]["dir"].as_str()),
                    (Some("in"), Some("out")),
                    "{name}: requests and replies alternate"
                );
                (frame(&pair[0], "raw"), frame(&pair[1], "raw"))
            })
            .collect()
    } else {
        lines
            .iter()
            .filter(|l| l["kind"] == "exchange")
            .map(|l| (frame(l, "request"), frame(l, "reply")))
            .collect()
    };
    Some(pairs)
}

/// What the original knows about one run, as its decisions depend on it.
struct RunState {
    app_name: String,
    is_adaptive: bool,
    /// JOB_END's `num_executors` per job: the original's job scale-out.
    scale_outs: Vec<i64>,
    job_ids: BTreeSet<i64>,
}

/// The earlier runs of each application, to tell the original's model-based decisions apart:
/// an adaptive run's initial scale-out with at least three non-adaptive (fixed scale-out)
/// earlier runs, and a JOB_END with more than three and at least two known later jobs.
#[derive(Default)]
struct Earlier {
    runs: HashMap<String, Vec<RunState>>,
}

impl Earlier {
    fn fixed_runs(&self, app_name: &str) -> usize {
        self.runs.get(app_name).map_or(0, |runs| {
            runs.iter()
                .filter(|r| {
                    !r.scale_outs.is_empty() && r.scale_outs.iter().all(|&s| s == r.scale_outs[0])
                })
                .count()
        })
    }

    fn later_jobs(&self, app_name: &str, job_id: i64) -> usize {
        let known: BTreeSet<i64> = self
            .runs
            .get(app_name)
            .into_iter()
            .flatten()
            .flat_map(|r| r.job_ids.iter().copied())
            .collect();
        known.range(job_id + 1..).count()
    }
}

#[derive(Default, Debug)]
struct Agreement {
    decisions: usize,
    exact: usize,
    within_one: usize,
    initial: usize,
    initial_within_one: usize,
    /// JOB_END decisions where the original asked for a change (its reply not an echo).
    changes: usize,
    changes_exact: usize,
}

impl Agreement {
    fn add(&mut self, ours: i64, original: i64, initial: bool) {
        let close = (ours - original).abs() <= 1;
        self.decisions += 1;
        self.exact += usize::from(ours == original);
        self.within_one += usize::from(close);
        if initial {
            self.initial += 1;
            self.initial_within_one += usize::from(close);
        }
    }

    fn add_job_end(&mut self, ours: i64, original: i64, num_executors: i64) {
        self.add(ours, original, false);
        if original != num_executors {
            self.changes += 1;
            self.changes_exact += usize::from(ours == original);
        }
    }

    fn share(part: usize, whole: usize) -> f64 {
        part as f64 / whole.max(1) as f64
    }
}

/// Replays a session's requests into `pacer-bridge serve --policy ellis-abe`, ids mapped.
fn replay(name: &str, pairs: &[(Value, Value)]) -> Agreement {
    let dir = TempDir::new("conformance");
    let server = start("ellis-abe", &dir.path().join("h.db"));
    let client = Client::connect(server.endpoint());
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut live: HashMap<String, RunState> = HashMap::new();
    let mut earlier = Earlier::default();
    let mut agreement = Agreement::default();
    for (request, original) in pairs {
        let mut request = request.clone();
        let kind = request["event_type"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if kind == "APPLICATION_START" {
            let ours = client.send(&request);
            let payload = &request["payload"];
            let run = RunState {
                app_name: payload["app_name"].as_str().unwrap().to_string(),
                is_adaptive: payload["is_adaptive"].as_bool().unwrap(),
                scale_outs: Vec::new(),
                job_ids: BTreeSet::new(),
            };
            if run.is_adaptive && earlier.fixed_runs(&run.app_name) >= 3 {
                agreement.add(scale_out(&ours), scale_out(original), true);
            }
            let original_id = id(original);
            ids.insert(original_id.clone(), id(&ours));
            live.insert(original_id, run);
            continue;
        }
        let payload = &mut request["payload"];
        let original_id = payload["app_event_id"].as_str().unwrap().to_string();
        let ours_id = ids
            .get(&original_id)
            .unwrap_or_else(|| panic!("{name}: {kind} of an unknown run {original_id}"));
        payload["app_event_id"] = Value::from(ours_id.clone());
        let num_executors = payload["num_executors"].as_i64().unwrap();
        let job_id = payload["job_id"].as_i64();
        let ours = client.send(&request);
        let run = live.get_mut(&original_id).unwrap();
        match kind.as_str() {
            "JOB_END" => {
                let job_id = job_id.unwrap();
                let model_based = run.is_adaptive
                    && earlier.fixed_runs(&run.app_name) > 3
                    && earlier.later_jobs(&run.app_name, job_id) >= 2;
                if model_based {
                    agreement.add_job_end(scale_out(&ours), scale_out(original), num_executors);
                }
                run.scale_outs.push(num_executors);
                run.job_ids.insert(job_id);
            }
            "APPLICATION_END" => {
                let run = live.remove(&original_id).unwrap();
                earlier
                    .runs
                    .entry(run.app_name.clone())
                    .or_default()
                    .push(run);
            }
            _ => {}
        }
    }
    server.stop();
    agreement
}

fn check(name: &str) {
    let Some(pairs) = session(name) else {
        return;
    };
    let a = replay(name, &pairs);
    println!(
        "{name}: {} model-based decisions ({} initial, {} changes after a job): exact {:.1} %, within one executor {:.1} % (initial scale-outs within one {:.1} %, changes exact {:.1} %)",
        a.decisions,
        a.initial,
        a.changes,
        100.0 * Agreement::share(a.exact, a.decisions),
        100.0 * Agreement::share(a.within_one, a.decisions),
        100.0 * Agreement::share(a.initial_within_one, a.initial),
        100.0 * Agreement::share(a.changes_exact, a.changes),
    );
    assert!(a.decisions > 0, "{name}: no model-based decisions");
    assert!(
        Agreement::share(a.within_one, a.decisions) >= REQUIRED_WITHIN_ONE,
        "{name}: {a:?}"
    );
}

const SHUFFLE_SESSION: &str = "abe-session.jsonl";
const KMEANS_SESSION: &str = "abe-kmeans-trace-session.jsonl";

#[test]
fn ellis_abe_decides_as_the_original_on_the_recorded_shuffle_session() {
    check(SHUFFLE_SESSION);
}

#[test]
fn ellis_abe_decides_as_the_original_on_the_kmeans_trace_session() {
    check(KMEANS_SESSION);
}

/// Sessions of other applications' traces (`abe-*.jsonl`) in the folder are checked as well.
#[test]
fn ellis_abe_decides_as_the_original_on_every_recorded_session() {
    let dir = fixtures_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: no folder {}", dir.display());
        return;
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("abe-") && name.ends_with(".jsonl"))
        .filter(|name| name != SHUFFLE_SESSION && name != KMEANS_SESSION)
        .collect();
    names.sort();
    for name in names {
        check(&name);
    }
}
