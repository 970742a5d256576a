use super::*;
use crate::history::JobScaleOut;
use crate::policy::{Decision, JobEnded, RunPlan};
use crate::trace::{self, TraceJob};

/// A recorded trace from `TRACES_DIR` (default `../shared/traces` beside the repository, where
/// the public traces are on every development and CI machine; a relative path is taken from
/// the repository's root).
fn shared_trace(name: &str) -> Vec<TraceRun> {
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let folder = std::env::var_os("TRACES_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| "../shared/traces".into(), std::path::PathBuf::from);
    let path = repository.join(folder).join(name);
    trace::read(&path).unwrap_or_else(|e| {
        panic!("{e}\n(the recorded traces: set TRACES_DIR to the folder holding {name})")
    })
}

fn config(policies: &[&str], delay: f64, seed: u64) -> ReplayConfig {
    ReplayConfig {
        bridge: None,
        target_ms: 14 * 60_000,
        policies: policies.iter().map(|p| p.to_string()).collect(),
        profiling_runs: 10,
        range: ScaleOutRange::new(4, 36),
        actuation_delay_ms: delay,
        seed,
        learn: false,
        reference: Reference::Fit,
        late_minute_price: Default::default(),
    }
}

/// Follows the recorded scale-outs of one run: the job after each boundary gets its own.
struct Recorded(Vec<TraceJob>);

impl RunPlan for Recorded {
    fn initial(&self) -> Decision {
        Decision::new(self.0[0].scale_out, "recorded")
    }

    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
        let next = self.0.iter().find(|j| j.job_id > ended.job_id)?;
        Some(Decision::new(next.scale_out, "recorded"))
    }
}

#[test]
fn keeping_the_recorded_scale_outs_reproduces_the_recorded_run() {
    let variants = [Reference::Fit, Reference::Hold, Reference::Profiling];
    for (name, variant) in ["ellis-kmeans.csv", "ellis-logisticregression.csv"]
        .into_iter()
        .flat_map(|name| variants.map(|v| (name, v)))
    {
        let runs = shared_trace(name);
        let reference = ReferenceModels::of(variant, &runs, 10);
        let range = ScaleOutRange::new(1, 64);
        for run in &runs {
            let mut plan = Recorded(run.jobs.clone());
            let setting = Setting {
                job_scale_out: JobScaleOut::AtEnd,
                range,
                actuation_delay_ms: 0.0,
            };
            let outcome = simulate(run, &reference, &mut plan, setting, &mut Rng::new(1));
            let recorded_end = run
                .jobs
                .iter()
                .map(|j| j.end_ms)
                .max()
                .unwrap_or(run.end_ms)
                .max(run.end_ms);
            // Jobs that overlapped in the recording run one after the other here.
            let overlap: i64 = run
                .jobs
                .windows(2)
                .map(|w| (w[0].end_ms - w[1].start_ms).max(0))
                .sum();
            let job_time: i64 = run.jobs.iter().map(|j| j.duration_ms).sum();
            let recorded_job_time: i64 = run.jobs.iter().map(|j| j.end_ms - j.start_ms).sum();
            let expected = (recorded_end - run.start_ms) as f64
                + (job_time - recorded_job_time) as f64
                + overlap as f64;
            assert!(
                (outcome.runtime_ms - expected).abs() < 2.0 * run.jobs.len() as f64,
                "{name} run {}: {} vs {expected}",
                run.app_event_id,
                outcome.runtime_ms
            );
        }
    }
}

/// Both recorded traces replayed with `policies` at their experiments' targets: the trace's
/// name, the target (ms) and the replay's results.
fn replay_recorded(policies: &[&str]) -> Vec<(&'static str, f64, ReplayReport, Outcomes)> {
    [
        ("ellis-kmeans.csv", 14),
        ("ellis-logisticregression.csv", 5),
    ]
    .into_iter()
    .map(|(name, target_min)| {
        let mut c = config(policies, 20_000.0, 7);
        c.target_ms = target_min * 60_000;
        let (report, outcomes) = replay(&shared_trace(name), &c).unwrap();
        (name, c.target_ms as f64, report, outcomes)
    })
    .collect()
}

#[test]
fn the_oracle_is_never_worse_than_static_max() {
    for (name, target, report, outcomes) in replay_recorded(&["oracle", "static-max"]) {
        let (oracle, max) = (&report.policies["oracle"], &report.policies["static-max"]);
        assert!(oracle.cvc <= max.cvc, "{name}: {oracle:?} vs {max:?}");
        assert!(oracle.cvs_min <= max.cvs_min + 1e-9, "{name}");
        for (o, m) in outcomes["oracle"].iter().zip(&outcomes["static-max"]) {
            if m.runtime_ms <= target {
                assert!(
                    o.runtime_ms <= target,
                    "{name}: the oracle misses a target static-max meets"
                );
                assert!(
                    o.executor_ms <= m.executor_ms + 1.0,
                    "{name}: the oracle pays more than static-max"
                );
            }
        }
    }
}

#[test]
fn clairvoyant_bounds_are_ordered_per_job_constant_frugal_and_maximum() {
    let policies = ["oracle", "oracle-constant", "oracle-frugal", "static-max"];
    for (name, target, report, outcomes) in replay_recorded(&policies) {
        let cvc = |p: &str| report.policies[p].cvc;
        assert!(cvc("oracle") <= cvc("oracle-constant"), "{name}");
        assert!(cvc("oracle-constant") <= cvc("static-max"), "{name}");
        let per_run = outcomes["oracle"]
            .iter()
            .zip(&outcomes["oracle-constant"])
            .zip(&outcomes["static-max"]);
        for (((per_job, constant), max), frugal) in per_run.zip(&outcomes["oracle-frugal"]) {
            assert_eq!(constant.rescalings, 0);
            // The frugal bound meets the same targets, never at more cost.
            assert_eq!(
                frugal.runtime_ms <= target,
                constant.runtime_ms <= target,
                "{name}"
            );
            assert!(frugal.executor_ms <= constant.executor_ms + 1.0, "{name}");
            if constant.runtime_ms <= target {
                assert!(per_job.runtime_ms <= target, "{name}");
            }
            if max.runtime_ms <= target {
                assert!(constant.runtime_ms <= target, "{name}");
                assert!(constant.executor_ms <= max.executor_ms + 1.0, "{name}");
            }
        }
    }
}

#[test]
fn holding_the_reference_keeps_each_job_inside_its_recorded_scale_outs() {
    let runs = shared_trace("ellis-logisticregression.csv");
    let fit = ReferenceModels::of(Reference::Fit, &runs, 10);
    let hold = ReferenceModels::of(Reference::Hold, &runs, 10);
    // Job 1 was recorded at 11 to 36 executors only.
    let recorded: Vec<u32> = runs
        .iter()
        .flat_map(|r| &r.jobs)
        .filter(|j| j.job_id == 1)
        .map(|j| j.scale_out)
        .collect();
    let lowest = *recorded.iter().min().unwrap();
    assert!(lowest > 4, "{lowest}");
    assert_eq!(hold.factor(1, 13, 4), hold.factor(1, 13, lowest));
    assert_ne!(fit.factor(1, 13, 4), fit.factor(1, 13, lowest));
    // Inside the recorded scale-outs both agree.
    assert_eq!(hold.factor(1, 13, 20), fit.factor(1, 13, 20));
}

#[test]
fn the_profiling_reference_comes_from_the_profiling_runs_only() {
    let mut runs = shared_trace("ellis-kmeans.csv");
    let before = ReferenceModels::of(Reference::Profiling, &runs, 10);
    let fit_before = ReferenceModels::of(Reference::Fit, &runs, 10);
    // Every adaptive run recorded at 3× its durations: only curves fitted on them change.
    for run in &mut runs[10..] {
        for job in &mut run.jobs {
            job.duration_ms *= 1 + i64::from(job.scale_out % 3);
        }
    }
    let after = ReferenceModels::of(Reference::Profiling, &runs, 10);
    let fit_after = ReferenceModels::of(Reference::Fit, &runs, 10);
    let job_ids: Vec<i64> = runs[0].jobs.iter().map(|j| j.job_id).collect();
    let factors = |r: &ReferenceModels| -> Vec<f64> {
        job_ids
            .iter()
            .flat_map(|&id| [r.factor(id, 4, 36), r.factor(id, 36, 13)])
            .collect()
    };
    assert_eq!(factors(&before), factors(&after));
    assert_ne!(factors(&fit_before), factors(&fit_after));
    // The profiling runs cover the range, so their curves give the scale-out an effect.
    assert!(factors(&before).iter().any(|f| (f - 1.0).abs() > 0.05));
}

#[test]
fn learning_adds_each_replayed_run_to_the_history_of_the_next() {
    let runs = shared_trace("ellis-kmeans.csv");
    let mut c = config(&["ellis", "pacer"], 20_000.0, 3);
    let (_, fixed_history) = replay(&runs, &c).unwrap();
    c.learn = true;
    let (first, learned) = replay(&runs, &c).unwrap();
    let (second, _) = replay(&runs, &c).unwrap();
    assert_eq!(first, second);
    for policy in ["ellis", "pacer"] {
        // The first replayed run has the profiling runs only, either way; later runs are
        // planned from more history.
        assert_eq!(fixed_history[policy][0], learned[policy][0], "{policy}");
        let differing = fixed_history[policy]
            .iter()
            .zip(&learned[policy])
            .filter(|(a, b)| a.scale_outs != b.scale_outs)
            .count();
        assert!(differing > 0, "{policy}: the history did not grow");
        assert_eq!(learned[policy][0].jobs.len(), runs[10].jobs.len());
    }
}

#[test]
fn the_same_seed_gives_the_same_output() {
    let runs = shared_trace("ellis-logisticregression.csv");
    // The oracles draw nothing from the seed (and are slow in debug builds).
    let mut c = config(&["ellis", "pacer", "static-max"], 20_000.0, 42);
    c.target_ms = 5 * 60_000;
    for reference in [Reference::Fit, Reference::Hold, Reference::Profiling] {
        for learn in [false, true] {
            c.reference = reference;
            c.learn = learn;
            let (first, _) = replay(&runs, &c).unwrap();
            let (second, _) = replay(&runs, &c).unwrap();
            assert_eq!(first, second);
            assert_eq!(first.policies["ellis"].runs, 55);
        }
    }
}

#[test]
fn actuation_delay_pro_rates_a_job() {
    // One job of 100 s at 10 executors; scaling to 20 halves it (reference model 1/s).
    let job = |id, s| TraceJob {
        job_id: id,
        start_ms: 0,
        end_ms: 100_000,
        duration_ms: 100_000,
        scale_out: s,
    };
    let runs: Vec<TraceRun> = [5u32, 10, 20, 40]
        .iter()
        .enumerate()
        .map(|(i, &s)| TraceRun {
            app_event_id: i as i64,
            app_name: "x".into(),
            start_ms: 0,
            end_ms: 1_000_000 / i64::from(s) * 2,
            jobs: vec![
                TraceJob {
                    duration_ms: 1_000_000 / i64::from(s),
                    end_ms: 1_000_000 / i64::from(s),
                    scale_out: s,
                    ..job(0, s)
                },
                TraceJob {
                    start_ms: 1_000_000 / i64::from(s),
                    end_ms: 2_000_000 / i64::from(s),
                    duration_ms: 1_000_000 / i64::from(s),
                    scale_out: s,
                    ..job(1, s)
                },
            ],
        })
        .collect();
    let reference = ReferenceModels::fit(&runs);
    struct UpAfterFirst;
    impl RunPlan for UpAfterFirst {
        fn initial(&self) -> Decision {
            Decision::new(10, "start")
        }
        fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
            (ended.job_id == 0).then(|| Decision::new(20, "up"))
        }
    }
    let run = &runs[1]; // recorded at 10: 100 s per job
    let outcome = simulate(
        run,
        &reference,
        &mut UpAfterFirst,
        Setting {
            job_scale_out: JobScaleOut::Mean,
            range: ScaleOutRange::new(1, 64),
            actuation_delay_ms: 40_000.0,
        },
        &mut Rng::new(3),
    );
    // Job 1 runs d seconds at 10 (d = jittered delay, 30–50 s), then the rest at twice the speed.
    let delay = outcome.runtime_ms - 100_000.0 - 50_000.0;
    assert!((0.0..=25_000.0 + 1.0).contains(&delay), "{outcome:?}");
    assert_eq!(outcome.rescalings, 1);
}

#[test]
fn per_run_rows_add_up_to_the_policy_metrics() {
    let runs = shared_trace("ellis-kmeans.csv");
    let c = config(&["ellis", "fixed:8"], 20_000.0, 3);
    let (report, outcomes) = replay(&runs, &c).unwrap();
    let replayed = &runs[c.profiling_runs..];
    let with_runs = report.clone().with_runs(replayed, &outcomes, c.target_ms);
    let rows = with_runs.runs.as_ref().unwrap();
    for (name, metrics) in &report.policies {
        let rows = &rows[name];
        assert_eq!(rows.len(), replayed.len(), "{name}");
        let n = rows.len() as f64;
        let target = c.target_ms as f64;
        assert!(
            rows.iter().all(|r| r.met == (r.runtime_ms <= target)),
            "{name}"
        );
        let missed = rows.iter().filter(|r| !r.met).count() as f64;
        assert!((missed / n - metrics.cvc).abs() < 1e-12, "{name}");
        let late = rows
            .iter()
            .map(|r| (r.runtime_ms - target).max(0.0) / 60_000.0)
            .sum::<f64>();
        assert!((late / n - metrics.cvs_min).abs() < 1e-9, "{name}");
        let cost = rows.iter().map(|r| r.executor_minutes).sum::<f64>() / n;
        assert!((cost - metrics.executor_minutes).abs() < 1e-9, "{name}");
        let rescaled = rows.iter().map(|r| r.scale_outs.len() - 1).sum::<usize>() as f64;
        assert!((rescaled / n - metrics.rescalings).abs() < 1e-9, "{name}");
    }
    assert!(rows["fixed:8"].iter().all(|r| r.scale_outs == [8]));
    assert_eq!(with_runs.policies, report.policies);
    assert!(report.runs.is_none());
}

#[test]
fn a_dearer_minute_late_buys_lost_runs_more_executors() {
    let runs = shared_trace("ellis-kmeans.csv");
    let cost_at = |price: &str| {
        let mut c = config(&["pacer"], 20_000.0, 7);
        c.late_minute_price = price.parse().unwrap();
        replay(&runs, &c).unwrap().0.policies["pacer"].executor_minutes
    };
    // At a free minute late a lost run is as cheap as it can be; the price reaches the policy.
    let (free, default, dear) = (cost_at("0"), cost_at("1"), cost_at("4"));
    assert!(free < default && default < dear, "{free} {default} {dear}");
}
