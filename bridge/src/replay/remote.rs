//! `replay --bridge ADDR`: any bridge, driven through the replay exactly as a listener drives
//! it (ZeroMQ REQ, JSON: APPLICATION_START, JOB_START and JOB_END per job, APPLICATION_END),
//! its recommendations applied with the simulator's actuation rules.
//!
//! The bridge keeps its own history: it first sees the profiling runs as non-adaptive runs at
//! their recorded scale-outs, and it records every replayed run it is sent, so it always plays
//! as with `--learn`. Jobs carry no stages (the traces have none).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_protocol::transport::{Connection, Exchange};
use pacer_protocol::{samples, ApplicationEnd, Codec, Event, JobEnd, JobStart};

use crate::history::RunRecord;
use crate::history::ScaleOutRange;
use crate::policy::{Decision, JobEnded, Policy, RunPlan, RunSpec};
use crate::trace::TraceRun;

/// The original listener waits this long for a reply; a slower bridge fails the replay.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

struct Link {
    connection: Connection,
    /// The first exchange that failed; after it nothing more is sent.
    failure: Option<String>,
}

impl Link {
    /// Sends `event`; its reply's `(app_event_id, recommended_scale_out)`.
    fn send(&mut self, event: Event) -> Option<(String, i64)> {
        if self.failure.is_some() {
            return None;
        }
        let what = event.event_type().wire_name();
        let answer = Codec::Json
            .encode_event(&event)
            .map_err(|e| e.to_string())
            .and_then(|request| {
                match self.connection.exchange(&request, REPLY_TIMEOUT, &|| false) {
                    Exchange::Reply(bytes) => Codec::Json
                        .decode_reply(&bytes)
                        .map_err(|e| format!("its reply is not a reply: {e}")),
                    Exchange::TimedOut => Err(format!("no reply within {REPLY_TIMEOUT:?}")),
                    Exchange::Failed(e) => Err(e),
                    Exchange::Aborted => Err("aborted".into()),
                }
            });
        match answer {
            Ok(reply) => Some((reply.app_event_id, reply.recommended_scale_out)),
            Err(e) => {
                let address = self.connection.address().to_string();
                self.failure = Some(format!("--bridge {address}: {what}: {e}"));
                None
            }
        }
    }
}

/// An external bridge as a policy of the replay.
pub struct RemoteBridge {
    link: Arc<Mutex<Link>>,
}

impl RemoteBridge {
    pub fn connect(address: &str) -> RemoteBridge {
        RemoteBridge {
            link: Arc::new(Mutex::new(Link {
                connection: Connection::new(address),
                failure: None,
            })),
        }
    }

    /// Sends the profiling runs as they were recorded (non-adaptive, recorded scale-outs).
    pub fn teach(&self, profiling: &[TraceRun], range: ScaleOutRange) {
        for run in profiling {
            let spec = RunSpec {
                app_name: run.app_name.clone(),
                is_adaptive: false,
                target_ms: 0,
                range,
                start_ms: run.start_ms,
            };
            let mut link = self.link.lock().expect("the link is never poisoned");
            let Some((id, _)) = link.send(application_start(&spec, run.app_event_id)) else {
                return;
            };
            let mut last = 0;
            for job in &run.jobs {
                let scale_out = i64::from(job.scale_out);
                link.send(job_start(&id, job.job_id, job.start_ms, scale_out));
                link.send(job_end(&id, job.job_id, job.end_ms, scale_out));
                last = scale_out;
            }
            link.send(application_end(&id, run.end_ms, last));
        }
    }

    /// Why the bridge could not be replayed, if it could not.
    pub fn failure(&self) -> Option<String> {
        self.link
            .lock()
            .expect("the link is never poisoned")
            .failure
            .clone()
    }
}

impl Policy for RemoteBridge {
    fn name(&self) -> String {
        "bridge".into()
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        let sent = self
            .link
            .lock()
            .expect("the link is never poisoned")
            .send(application_start(run, run.start_ms));
        let (app_event_id, scale_out) = sent.unwrap_or_default();
        Box::new(RemotePlan {
            link: Arc::clone(&self.link),
            app_event_id,
            initial: run.range.clamp(scale_out),
            last_scale_out: i64::from(run.range.clamp(scale_out)),
        })
    }
}

struct RemotePlan {
    link: Arc<Mutex<Link>>,
    app_event_id: String,
    initial: u32,
    last_scale_out: i64,
}

impl RunPlan for RemotePlan {
    fn initial(&self) -> Decision {
        Decision::new(self.initial, "the bridge's reply to APPLICATION_START")
    }

    /// The listener acts on every reply that differs from what the application has: JOB_END's
    /// reply wins, else JOB_START's.
    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
        let job = ended.jobs_done.last()?;
        let scale_out = i64::from(job.scale_out);
        self.last_scale_out = scale_out;
        let current = i64::from(ended.current_scale_out);
        let mut link = self.link.lock().expect("the link is never poisoned");
        let started = ended.end_ms - job.duration_ms;
        let at_start = link.send(job_start(
            &self.app_event_id,
            job.job_id,
            started,
            scale_out,
        ));
        let at_end = link.send(job_end(
            &self.app_event_id,
            job.job_id,
            ended.end_ms,
            scale_out,
        ));
        [at_end, at_start]
            .into_iter()
            .flatten()
            .map(|(_, recommended)| recommended)
            .find(|&recommended| recommended >= 1 && recommended != current)
            .map(|recommended| {
                Decision::new(
                    recommended.min(i64::from(u32::MAX)) as u32,
                    "the bridge's reply",
                )
            })
    }

    fn finished(&mut self, end_ms: i64) {
        let end = application_end(&self.app_event_id, end_ms, self.last_scale_out);
        self.link
            .lock()
            .expect("the link is never poisoned")
            .send(end);
    }
}

fn application_start(run: &RunSpec, application: i64) -> Event {
    let mut start = samples::application_start();
    start.application_id = format!("app-replay-{application}");
    start.app_name = run.app_name.clone();
    start.app_time = run.start_ms;
    start.is_adaptive = run.is_adaptive;
    start.app_specs.target_runtime = run.target_ms;
    start.app_specs.min_executors = i64::from(run.range.min);
    start.app_specs.max_executors = i64::from(run.range.max);
    Event::ApplicationStart(Box::new(start))
}

fn job_start(app_event_id: &str, job_id: i64, at_ms: i64, num_executors: i64) -> Event {
    Event::JobStart(JobStart {
        app_event_id: app_event_id.to_string(),
        app_time: at_ms,
        job_id,
        num_executors,
    })
}

fn job_end(app_event_id: &str, job_id: i64, at_ms: i64, num_executors: i64) -> Event {
    Event::JobEnd(JobEnd {
        app_event_id: app_event_id.to_string(),
        app_time: at_ms,
        job_id,
        num_executors,
        rescaling_time_ratio: 0.0,
        stages: Default::default(),
    })
}

fn application_end(app_event_id: &str, at_ms: i64, num_executors: i64) -> Event {
    Event::ApplicationEnd(ApplicationEnd {
        app_event_id: app_event_id.to_string(),
        app_time: at_ms,
        num_executors,
    })
}
