//! What the bridge does with each event: keeps the live runs, asks the policy, records
//! everything in the store, and builds the reply.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use pacer_protocol::{self as protocol, Event, EventType, Reply};

use super::history_cache::HistoryCache;
use super::Counters;
use crate::history::{JobRecord, RunRecord, ScaleOutRange};
use crate::metrics::{Metrics, RunOutcome};
use crate::policy::{Decision, JobEnded, Policy, RunPlan, RunSpec};
use crate::store::{
    AppEndRow, AppRow, Change, JobEndRow, JobStartRow, Reader, RecommendationRow, RunningApp, Store,
};

/// Live runs not heard from for this long are forgotten (their history stays in the store).
const IDLE_RUN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Decisions after a job that take longer than `SLOW_DECISION` several times in a row, or one
/// that takes `VERY_SLOW_DECISION`, mark the policy's decisions as slow: the server stops making
/// them on its socket thread. Wall time (a vDSO read, unlike a thread's CPU clock, which costs
/// a system call per decision) in a row, so that one preemption cannot trip it.
const SLOW_DECISION: Duration = Duration::from_millis(2);
const SLOW_DECISIONS_IN_A_ROW: u32 = 3;
const VERY_SLOW_DECISION: Duration = Duration::from_millis(50);

struct LiveRun {
    app_name: String,
    spec: RunSpec,
    plan: Box<dyn RunPlan>,
    /// The scale-out last recommended.
    target: u32,
    /// Started jobs: job id → (start time, scale-out at start).
    open_jobs: HashMap<i64, (i64, i64)>,
    jobs_done: Vec<JobRecord>,
    last_seen: Instant,
}

pub struct Service {
    policy: Arc<dyn Policy>,
    store: Arc<Store>,
    runs: Mutex<HashMap<String, Arc<Mutex<LiveRun>>>>,
    history: HistoryCache,
    next_id: AtomicU64,
    counters: Arc<Counters>,
    metrics: Arc<Metrics>,
    slow_decisions: AtomicBool,
    slow_in_a_row: AtomicU32,
}

impl Service {
    pub fn new(
        policy: Arc<dyn Policy>,
        store: Arc<Store>,
        first_id: u64,
        counters: Arc<Counters>,
        metrics: Arc<Metrics>,
    ) -> Service {
        let job_scale_out = policy.job_scale_out();
        Service {
            policy,
            store,
            runs: Mutex::new(HashMap::new()),
            history: HistoryCache::new(job_scale_out),
            next_id: AtomicU64::new(first_id),
            counters,
            metrics,
            slow_decisions: AtomicBool::new(false),
            slow_in_a_row: AtomicU32::new(0),
        }
    }

    /// Decisions after a job took too long to be made on the socket thread.
    pub fn decisions_are_slow(&self) -> bool {
        self.slow_decisions.load(Ordering::Relaxed)
    }

    fn note_decision_time(&self, took: Duration) {
        let in_a_row = if took > SLOW_DECISION {
            self.slow_in_a_row.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.slow_in_a_row.store(0, Ordering::Relaxed);
            0
        };
        if (in_a_row >= SLOW_DECISIONS_IN_A_ROW || took > VERY_SLOW_DECISION)
            && !self.slow_decisions.swap(true, Ordering::Relaxed)
        {
            log::warn!(
                "the policy took {} ms to decide after a job: deciding on worker threads from now on",
                took.as_millis()
            );
        }
    }

    pub fn live_runs(&self) -> usize {
        self.runs.lock().len()
    }

    pub fn cached_applications(&self) -> usize {
        self.history.applications()
    }

    /// Handles one event; `reader` is the calling worker's store connection.
    pub fn handle(&self, event: Event, reader: &Reader) -> Reply {
        match event {
            Event::ApplicationStart(start) => self.application_start(*start, reader),
            Event::JobStart(job) => self.job_start(job, reader),
            Event::JobEnd(job) => self.job_end(job, reader),
            Event::ApplicationEnd(end) => self.application_end(end, reader),
        }
    }

    fn history_of(&self, app_name: &str, reader: &Reader) -> Arc<Vec<RunRecord>> {
        self.history.get(app_name, reader).unwrap_or_else(|e| {
            log::error!("cannot read the history of '{app_name}': {e}; planning without it");
            Arc::new(Vec::new())
        })
    }

    fn application_start(&self, start: protocol::ApplicationStart, reader: &Reader) -> Reply {
        let app_event_id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let specs = &start.app_specs;
        let range = ScaleOutRange::new(
            specs.min_executors.clamp(1, i64::from(u32::MAX)) as u32,
            specs.max_executors.clamp(1, i64::from(u32::MAX)) as u32,
        );
        let spec = RunSpec {
            app_name: start.app_name.clone(),
            is_adaptive: start.is_adaptive,
            target_ms: specs.target_runtime,
            range,
            start_ms: start.app_time,
        };
        let history = self.history_of(&start.app_name, reader);
        let plan = self.policy.start_run(&spec, &history);
        let decision = plan.initial();
        let scale_out = range.clamp(i64::from(decision.scale_out));
        log::info!(
            "run {app_event_id} of '{}' starts ({}, {} earlier runs): {scale_out} executors, {}",
            start.app_name,
            if start.is_adaptive {
                format!("target {} ms", specs.target_runtime)
            } else {
                "profiling".to_string()
            },
            history.len(),
            decision.reason
        );
        self.metrics.run_started();
        self.store.write(Change::AppStarted(Box::new(AppRow {
            app_event_id: app_event_id.clone(),
            application_id: start.application_id.clone(),
            app_name: start.app_name.clone(),
            algorithm_name: specs.algorithm_name.clone(),
            algorithm_args: specs.algorithm_args.clone(),
            is_adaptive: start.is_adaptive,
            is_training: start.is_training,
            datasize_mb: specs.datasize_mb,
            target_runtime_ms: specs.target_runtime,
            min_executors: range.min,
            max_executors: range.max,
            driver_specs: to_json(&start.driver_specs),
            executor_specs: to_json(&start.executor_specs),
            environment_specs: to_json(&start.environment_specs),
            policy: self.policy.name(),
            start_ms: start.app_time,
            initial_scale_out: scale_out,
        })));
        self.record(
            &app_event_id,
            start.app_time,
            EventType::ApplicationStart,
            None,
            None,
            scale_out,
            decision.reason,
        );
        let run = LiveRun {
            app_name: start.app_name,
            spec,
            plan,
            target: scale_out,
            open_jobs: HashMap::new(),
            jobs_done: Vec::new(),
            last_seen: Instant::now(),
        };
        self.insert_run(&app_event_id, run);
        Reply {
            app_event_id,
            recommended_scale_out: scale_out.into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        app_event_id: &str,
        time_ms: i64,
        event: EventType,
        job_id: Option<i64>,
        from: Option<u32>,
        to: u32,
        reason: String,
    ) {
        self.store.write(Change::Recommended(RecommendationRow {
            app_event_id: app_event_id.to_string(),
            time_ms,
            event_type: event.wire_name(),
            job_id,
            from,
            to,
            reason,
        }));
    }

    fn insert_run(&self, app_event_id: &str, run: LiveRun) {
        let mut runs = self.runs.lock();
        runs.insert(app_event_id.to_string(), Arc::new(Mutex::new(run)));
        // Now and then, forget runs whose application vanished without APPLICATION_END.
        if runs.len().is_multiple_of(1024) {
            runs.retain(|_, run| {
                run.try_lock()
                    .is_none_or(|r| r.last_seen.elapsed() < IDLE_RUN_TIMEOUT)
            });
        }
    }

    /// The live run, or one that started before a restart (rebuilt from the store).
    fn run(&self, app_event_id: &str, reader: &Reader) -> Option<Arc<Mutex<LiveRun>>> {
        if let Some(run) = self.runs.lock().get(app_event_id).cloned() {
            return Some(run);
        }
        let running = match reader.running_app(app_event_id, self.policy.job_scale_out()) {
            Ok(found) => found?,
            Err(e) => {
                log::error!("cannot look up run {app_event_id}: {e}");
                return None;
            }
        };
        let run = self.resume(running, reader);
        log::info!(
            "run {app_event_id} of '{}' continues after a restart at {} executors",
            run.app_name,
            run.target
        );
        let mut runs = self.runs.lock();
        Some(
            runs.entry(app_event_id.to_string())
                .or_insert_with(|| Arc::new(Mutex::new(run)))
                .clone(),
        )
    }

    fn resume(&self, running: RunningApp, reader: &Reader) -> LiveRun {
        let app = running.app;
        let spec = RunSpec {
            app_name: app.app_name.clone(),
            is_adaptive: app.is_adaptive,
            target_ms: app.target_runtime_ms,
            range: ScaleOutRange::new(app.min_executors, app.max_executors),
            start_ms: app.start_ms,
        };
        let history: Vec<RunRecord> = self
            .history_of(&app.app_name, reader)
            .iter()
            .filter(|r| r.app_event_id != app.app_event_id)
            .cloned()
            .collect();
        LiveRun {
            plan: self.policy.start_run(&spec, &history),
            app_name: app.app_name,
            spec,
            target: running.current_scale_out,
            open_jobs: running
                .open_jobs
                .into_iter()
                .map(|(job, start, s)| (job, (start, s)))
                .collect(),
            jobs_done: running.jobs,
            last_seen: Instant::now(),
        }
    }

    fn unknown(&self, app_event_id: &str, kind: EventType, num_executors: i64) -> Reply {
        let n = self.counters.unknown_app.fetch_add(1, Ordering::Relaxed);
        if n < 10 || n.is_power_of_two() {
            log::warn!(
                "{} for unknown app_event_id '{app_event_id}' ({} so far); answered with its own scale-out",
                kind.wire_name(),
                n + 1
            );
        }
        Reply {
            app_event_id: app_event_id.to_string(),
            recommended_scale_out: num_executors,
        }
    }

    fn job_start(&self, job: protocol::JobStart, reader: &Reader) -> Reply {
        let Some(run) = self.run(&job.app_event_id, reader) else {
            return self.unknown(&job.app_event_id, EventType::JobStart, job.num_executors);
        };
        let mut run = run.lock();
        run.last_seen = Instant::now();
        run.open_jobs
            .insert(job.job_id, (job.app_time, job.num_executors));
        self.store.write(Change::JobStarted(JobStartRow {
            app_event_id: job.app_event_id.clone(),
            job_id: job.job_id,
            start_ms: job.app_time,
            scale_out: job.num_executors,
        }));
        // No decision at a job's start: "no change".
        Reply {
            app_event_id: job.app_event_id,
            recommended_scale_out: job.num_executors,
        }
    }

    fn job_end(&self, job: protocol::JobEnd, reader: &Reader) -> Reply {
        let Some(run) = self.run(&job.app_event_id, reader) else {
            return self.unknown(&job.app_event_id, EventType::JobEnd, job.num_executors);
        };
        let mut guard = run.lock();
        let run = &mut *guard;
        run.last_seen = Instant::now();
        let started = run.open_jobs.remove(&job.job_id).or_else(|| {
            // JOB_START lost: the job started when its first stage did.
            job.stages
                .values()
                .map(|s| s.start_time)
                .min()
                .map(|t| (t, job.num_executors))
        });
        let job_scale_out = self.policy.job_scale_out();
        if let Some((start_ms, start_scale_out)) = started {
            run.jobs_done.push(JobRecord {
                job_id: job.job_id,
                scale_out: job_scale_out
                    .of(Some(start_scale_out), Some(job.num_executors))
                    .unwrap_or(0),
                duration_ms: (job.app_time - start_ms).max(0),
            });
        }
        let ended = JobEnded {
            job_id: job.job_id,
            end_ms: job.app_time,
            current_scale_out: run.target,
            num_executors: job.num_executors.clamp(0, i64::from(u32::MAX)) as u32,
            jobs_done: &run.jobs_done,
        };
        let deciding = Instant::now();
        let decision = run.plan.after_job(&ended);
        self.note_decision_time(deciding.elapsed());
        // A decision is answered unless the application already has it; otherwise the reply
        // echoes the message's scale-out, which the original listener takes for "no request"
        // (any other value restarts its stopwatch). A decision repeating the standing target
        // (the application has not followed it yet) is answered but not recorded again.
        let mut decided = None;
        if let Some(Decision { scale_out, reason }) = decision {
            let scale_out = run.spec.range.clamp(i64::from(scale_out));
            if i64::from(scale_out) != job.num_executors {
                decided = Some(scale_out);
            }
            if scale_out != run.target {
                log::info!(
                    "run {} after job {}: {} → {scale_out} executors, {reason}",
                    job.app_event_id,
                    job.job_id,
                    run.target
                );
                self.record(
                    &job.app_event_id,
                    job.app_time,
                    EventType::JobEnd,
                    Some(job.job_id),
                    Some(run.target),
                    scale_out,
                    reason,
                );
                run.target = scale_out;
            }
        }
        let target = run.target;
        let predicted_end_ms = run.plan.predicted_end_ms(&ended, target);
        drop(guard);
        self.store.write(Change::JobEnded(JobEndRow {
            app_event_id: job.app_event_id.clone(),
            job_id: job.job_id,
            end_ms: job.app_time,
            scale_out: job.num_executors,
            rescaling_time_ratio: job.rescaling_time_ratio,
            predicted_end_ms,
            stages: job.stages.into_values().collect(),
        }));
        Reply {
            app_event_id: job.app_event_id,
            recommended_scale_out: decided.map_or(job.num_executors, i64::from),
        }
    }

    fn application_end(&self, end: protocol::ApplicationEnd, reader: &Reader) -> Reply {
        let Some(run) = self.run(&end.app_event_id, reader) else {
            return self.unknown(
                &end.app_event_id,
                EventType::ApplicationEnd,
                end.num_executors,
            );
        };
        self.runs.lock().remove(&end.app_event_id);
        let run = run.lock();
        let runtime_ms = end.app_time - run.spec.start_ms;
        self.store.write(Change::AppEnded(AppEndRow {
            app_event_id: end.app_event_id.clone(),
            end_ms: end.app_time,
            final_scale_out: end.num_executors,
        }));
        let outcome = match (run.spec.is_adaptive, runtime_ms <= run.spec.target_ms) {
            (false, _) => RunOutcome::NoTarget,
            (true, true) => RunOutcome::Met,
            (true, false) => RunOutcome::Missed,
        };
        self.metrics.run_finished(outcome);
        let met = match outcome {
            RunOutcome::Met => ", target met",
            RunOutcome::Missed => ", target missed",
            RunOutcome::NoTarget => "",
        };
        log::info!(
            "run {} of '{}' ended after {runtime_ms} ms{met}",
            end.app_event_id,
            run.app_name
        );
        let record = RunRecord {
            app_event_id: end.app_event_id.clone(),
            is_adaptive: run.spec.is_adaptive,
            start_ms: run.spec.start_ms,
            runtime_ms,
            target_ms: run.spec.target_ms,
            jobs: run.jobs_done.clone(),
        };
        if let Err(e) = self.history.add(&run.app_name, record, reader) {
            log::error!("cannot update the history of '{}': {e}", run.app_name);
        }
        Reply {
            app_event_id: end.app_event_id,
            recommended_scale_out: end.num_executors,
        }
    }
}

/// Specs are stored as their JSON text.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
