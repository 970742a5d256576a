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

/// Every `*.json` file of `folder`, parsed, in file-name order: for tests whose set of messages
/// is a folder rather than a list in the code. An error names the file.
pub fn json_files(folder: &std::path::Path) -> Result<Vec<(String, serde_json::Value)>, String> {
    let entries =
        std::fs::read_dir(folder).map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        files.push((name, value));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The payload of a sample event, decoded once.
fn sample<T: Clone>(
    slot: &'static OnceLock<Event>,
    text: &'static str,
    payload: fn(&Event) -> Option<&T>,
) -> T {
    let event = slot.get_or_init(|| {
        Codec::Json
            .decode_event(text.as_bytes())
            .unwrap_or_else(|e| panic!("a sample message does not decode: {e}"))
    });
    payload(event)
        .cloned()
        .unwrap_or_else(|| panic!("a sample holds a {:?}", event.event_type()))
}

pub fn application_start() -> ApplicationStart {
    static SLOT: OnceLock<Event> = OnceLock::new();
    *sample(&SLOT, APPLICATION_START, |e| match e {
        Event::ApplicationStart(start) => Some(start),
        _ => None,
    })
}

pub fn job_start() -> JobStart {
    static SLOT: OnceLock<Event> = OnceLock::new();
    sample(&SLOT, JOB_START, |e| match e {
        Event::JobStart(job) => Some(job),
        _ => None,
    })
}

pub fn job_end() -> JobEnd {
    static SLOT: OnceLock<Event> = OnceLock::new();
    sample(&SLOT, JOB_END, |e| match e {
        Event::JobEnd(job) => Some(job),
        _ => None,
    })
}

pub fn application_end() -> ApplicationEnd {
    static SLOT: OnceLock<Event> = OnceLock::new();
    sample(&SLOT, APPLICATION_END, |e| match e {
        Event::ApplicationEnd(end) => Some(end),
        _ => None,
    })
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
