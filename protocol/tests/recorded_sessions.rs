//! Sessions recorded between Pacer's listener and the original Ellis bridge (`FIXTURES_DIR`,
//! default `../shared/fixtures` beside the repository; see its README): every request decodes
//! and encodes back to the same document, and every answer of the original bridge decodes as a
//! reply.

use std::path::PathBuf;

use pacer_protocol::{Codec, EventType};
use serde_json::Value;

fn fixture(name: &str) -> Vec<Value> {
    let folder = std::env::var_os("FIXTURES_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| "../shared/fixtures".into(), PathBuf::from);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(folder)
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\n(the recorded sessions: set FIXTURES_DIR to their folder)",
            path.display()
        )
    });
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Decodes `request` and `reply` (JSON text) as the bridge and the listener would.
fn check_exchange(request: &str, reply: &str) -> EventType {
    let event = Codec::Json
        .decode_event(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}: {request}"));
    let again: Value = serde_json::from_slice(&Codec::Json.encode_event(&event).unwrap()).unwrap();
    assert_eq!(again, serde_json::from_str::<Value>(request).unwrap());
    let answer = Codec::Json
        .decode_reply(reply.as_bytes())
        .unwrap_or_else(|e| panic!("{e}: {reply}"));
    if let Some(id) = event.app_event_id() {
        assert_eq!(answer.app_event_id, id, "{reply}");
    }
    event.event_type()
}

#[test]
fn the_spark_session_with_the_original_bridge() {
    let lines = fixture("abe-session.jsonl");
    let raw = |line: &Value| line["raw"].as_str().unwrap().to_string();
    let requests: Vec<String> = lines.iter().filter(|l| l["dir"] == "in").map(raw).collect();
    let replies: Vec<String> = lines
        .iter()
        .filter(|l| l["dir"] == "out")
        .map(raw)
        .collect();
    assert_eq!(requests.len(), replies.len());
    let types: Vec<EventType> = requests
        .iter()
        .zip(&replies)
        .map(|(request, reply)| check_exchange(request, reply))
        .collect();
    assert!(types.contains(&EventType::JobEnd) && types.contains(&EventType::ApplicationEnd));
}

#[test]
fn the_kmeans_trace_session_with_the_original_bridge() {
    let exchanges: Vec<Value> = fixture("abe-kmeans-trace-session.jsonl")
        .into_iter()
        .filter(|line| line["kind"] == "exchange")
        .collect();
    assert!(exchanges.len() > 1_000);
    for exchange in &exchanges {
        let kind = check_exchange(
            exchange["request"].as_str().unwrap(),
            exchange["reply"].as_str().unwrap(),
        );
        assert_eq!(kind.wire_name(), exchange["event_type"]);
    }
}
