//! The sample messages of `protocol/samples/`, one of each kind, embedded. Tests and the load
//! generator start from them and change the fields they need, so the repository has one set of
//! example messages.

use std::sync::OnceLock;

use crate::{ApplicationEnd, ApplicationStart, Codec, Event, JobEnd, JobStart, Reply};

/// (file name, JSON text) of every sample, for tests that read them all.
pub const FILES: [(&str, &str); 5] = [
    ("application_start.json", APPLICATION_START),
    ("job_start.json", JOB_START),
    ("job_end.json", JOB_END),
    ("application_end.json", APPLICATION_END),
    ("reply.json", REPLY),
];

pub const APPLICATION_START: &str = include_str!("../samples/application_start.json");
pub const JOB_START: &str = include_str!("../samples/job_start.json");
pub const JOB_END: &str = include_str!("../samples/job_end.json");
pub const APPLICATION_END: &str = include_str!("../samples/application_end.json");
pub const REPLY: &str = include_str!("../samples/reply.json");

fn decoded(slot: &'static OnceLock<Event>, text: &'static str) -> &'static Event {
    slot.get_or_init(|| {
        Codec::Json
            .decode_event(text.as_bytes())
            .unwrap_or_else(|e| panic!("a sample message does not decode: {e}"))
    })
}

pub fn application_start() -> ApplicationStart {
    static SLOT: OnceLock<Event> = OnceLock::new();
    match decoded(&SLOT, APPLICATION_START) {
        Event::ApplicationStart(start) => (**start).clone(),
        other => panic!("application_start.json holds {:?}", other.event_type()),
    }
}

pub fn job_start() -> JobStart {
    static SLOT: OnceLock<Event> = OnceLock::new();
    match decoded(&SLOT, JOB_START) {
        Event::JobStart(job) => job.clone(),
        other => panic!("job_start.json holds {:?}", other.event_type()),
    }
}

pub fn job_end() -> JobEnd {
    static SLOT: OnceLock<Event> = OnceLock::new();
    match decoded(&SLOT, JOB_END) {
        Event::JobEnd(job) => job.clone(),
        other => panic!("job_end.json holds {:?}", other.event_type()),
    }
}

pub fn application_end() -> ApplicationEnd {
    static SLOT: OnceLock<Event> = OnceLock::new();
    match decoded(&SLOT, APPLICATION_END) {
        Event::ApplicationEnd(end) => end.clone(),
        other => panic!("application_end.json holds {:?}", other.event_type()),
    }
}

pub fn reply() -> Reply {
    Codec::Json
        .decode_reply(REPLY.as_bytes())
        .unwrap_or_else(|e| panic!("reply.json does not decode: {e}"))
}

/// The four events in the order of a run.
pub fn events() -> Vec<Event> {
    vec![
        Event::ApplicationStart(Box::new(application_start())),
        Event::JobStart(job_start()),
        Event::JobEnd(job_end()),
        Event::ApplicationEnd(application_end()),
    ]
}
