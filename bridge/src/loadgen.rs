//! `pacer-bridge bench`: simulated applications sending realistic event sequences to any
//! bridge, as fast as it answers (each application waits for a reply before its next event,
//! like the listener). Reports throughput and latency.

use std::time::{Duration, Instant};

use pacer_protocol::{
    samples, ApplicationEnd, ApplicationStart, Codec, Event, JobEnd, JobStart, Stage,
};
use serde::Serialize;

use crate::output::Report;

/// Jobs per simulated run, and stages per job (as in the ML apps of ../shared/traces).
const JOBS_PER_RUN: i64 = 10;
const STAGES_PER_JOB: i64 = 2;
/// A reply not received within this time counts as an error.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub connect: String,
    pub apps: usize,
    pub duration: Duration,
    pub codec: Codec,
    /// Pause between a reply and the application's next event (0: as fast as answered).
    pub think: Duration,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadReport {
    /// Simulated applications (shown in the table; JSON keeps the measured figures only).
    #[serde(skip)]
    pub apps: usize,
    pub messages_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
}

impl Report for LoadReport {
    fn table(&self) -> String {
        format!(
            "apps {:>6}  messages/s {:>10.0}  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  errors {}\n",
            self.apps, self.messages_per_s, self.p50_ms, self.p99_ms, self.max_ms, self.errors
        )
    }

    /// One line, for scripts that read one report per line.
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One simulated application: where it is in its event sequence.
struct SimulatedApp {
    index: usize,
    run: u64,
    app_event_id: String,
    /// 0 = APPLICATION_START, 1..=2·JOBS = job events, then APPLICATION_END.
    step: i64,
    scale_out: i64,
}

impl SimulatedApp {
    fn next_event(&self, now_ms: i64) -> Event {
        let last = 2 * JOBS_PER_RUN + 1;
        let id = self.app_event_id.clone();
        match self.step {
            0 => Event::ApplicationStart(Box::new(application_start(self.index, self.run, now_ms))),
            s if s == last => Event::ApplicationEnd(ApplicationEnd {
                app_event_id: id,
                app_time: now_ms,
                num_executors: self.scale_out,
            }),
            s => {
                let job_id = (s - 1) / 2;
                if s % 2 == 1 {
                    Event::JobStart(JobStart {
                        app_event_id: id,
                        app_time: now_ms,
                        job_id,
                        num_executors: self.scale_out,
                    })
                } else {
                    Event::JobEnd(job_end(id, job_id, now_ms, self.scale_out))
                }
            }
        }
    }

    fn advance(&mut self) {
        self.step += 1;
        if self.step > 2 * JOBS_PER_RUN + 1 {
            self.step = 0;
            self.run += 1;
            self.app_event_id.clear();
        }
    }
}

/// The sample APPLICATION_START with the name and id of simulated application `index`.
fn application_start(index: usize, run: u64, now_ms: i64) -> ApplicationStart {
    let mut start = samples::application_start();
    let algorithm = format!("BenchApp{}", index % 50);
    let argument = (index % 7).to_string();
    start.application_id = format!("app-bench-{index}-{run}");
    start.app_name = format!("{algorithm} with Params(input, {argument})");
    start.app_time = now_ms;
    start.is_adaptive = true;
    start.is_training = false;
    start.app_specs.algorithm_name = algorithm;
    start.app_specs.algorithm_args = vec!["input".into(), argument];
    start.app_specs.target_runtime = 600_000;
    start
}

/// The sample JOB_END with `STAGES_PER_JOB` stages (a chain) built from its stage record.
fn job_end(app_event_id: String, job_id: i64, now_ms: i64, scale_out: i64) -> JobEnd {
    let mut job = samples::job_end();
    let template = job
        .stages
        .values()
        .next()
        .cloned()
        .expect("the sample has a stage");
    job.stages = (0..STAGES_PER_JOB)
        .map(|k| {
            let stage_id = job_id * STAGES_PER_JOB + k;
            let stage = Stage {
                stage_id: stage_id.to_string(),
                parent_stage_ids: if k > 0 { vec![stage_id - 1] } else { vec![] },
                start_time: now_ms - 5_000 + k * 2_000,
                end_time: now_ms - 3_000 + k * 2_000,
                start_scale_out: scale_out,
                end_scale_out: scale_out,
                ..template.clone()
            };
            (stage_id.to_string(), stage)
        })
        .collect();
    JobEnd {
        app_event_id,
        app_time: now_ms,
        job_id,
        num_executors: scale_out,
        ..job
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct AppResult {
    latencies_us: Vec<u64>,
    errors: u64,
}

/// One thread per simulated application, each with its own REQ socket, as each Spark driver
/// has its own listener: a thread blocked in `recv` wakes exactly when its reply arrives, so
/// latencies are not inflated by the client's own bookkeeping.
pub fn run(config: &LoadConfig) -> Result<LoadReport, String> {
    let context = zmq::Context::new();
    let started = Instant::now();
    let deadline = started + config.duration;
    let results: Vec<Result<AppResult, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.apps)
            .map(|index| {
                let context = context.clone();
                scope.spawn(move || simulate(&context, config, index, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a simulated application panicked".into()))
            })
            .collect()
    });
    let elapsed = started
        .elapsed()
        .as_secs_f64()
        .max(config.duration.as_secs_f64());
    let mut latencies = Vec::new();
    let mut errors = 0;
    for result in results {
        let result = result?;
        latencies.extend(result.latencies_us);
        errors += result.errors;
    }
    latencies.sort_unstable();
    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[i] as f64 / 1_000.0
    };
    Ok(LoadReport {
        apps: config.apps,
        messages_per_s: latencies.len() as f64 / elapsed,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
        errors,
    })
}

fn simulate(
    context: &zmq::Context,
    config: &LoadConfig,
    index: usize,
    deadline: Instant,
) -> Result<AppResult, String> {
    let socket = context.socket(zmq::REQ).map_err(|e| e.to_string())?;
    socket.set_linger(0).map_err(|e| e.to_string())?;
    socket
        .set_rcvtimeo(REPLY_TIMEOUT.as_millis() as i32)
        .map_err(|e| e.to_string())?;
    socket
        .connect(&config.connect)
        .map_err(|e| format!("cannot connect to {}: {e}", config.connect))?;
    let mut app = SimulatedApp {
        index,
        run: 0,
        app_event_id: String::new(),
        step: 0,
        scale_out: 8,
    };
    let mut result = AppResult {
        latencies_us: Vec::new(),
        errors: 0,
    };
    while Instant::now() < deadline {
        let event = app.next_event(now_ms());
        let bytes = config
            .codec
            .encode_event(&event)
            .map_err(|e| e.to_string())?;
        let sent = Instant::now();
        if socket.send(bytes, 0).is_err() {
            result.errors += 1;
            break;
        }
        let Ok(reply) = socket.recv_bytes(0) else {
            // No reply within the timeout: the REQ socket cannot be used any more.
            result.errors += 1;
            break;
        };
        result.latencies_us.push(sent.elapsed().as_micros() as u64);
        match config.codec.decode_reply(&reply) {
            Ok(r) if matches!(event, Event::ApplicationStart(_)) => {
                app.app_event_id = r.app_event_id;
                app.scale_out = r.recommended_scale_out.max(1);
            }
            Ok(r) if r.app_event_id == app.app_event_id => {
                app.scale_out = r.recommended_scale_out.max(1)
            }
            _ => result.errors += 1,
        }
        app.advance();
        if !config.think.is_zero() {
            // Spread the pauses (0.5–1.5 × think) so applications do not march in step.
            let spread =
                0.5 + ((index * 7_919 + app.step as usize * 104_729) % 1_000) as f64 / 1_000.0;
            std::thread::sleep(config.think.mul_f64(spread));
        }
    }
    Ok(result)
}
