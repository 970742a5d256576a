//! Messages shaped as the original Scala listener sends them (`tests/fixtures/original-listener/`,
//! hand-written from its sources, see the README there) are accepted by a real server; those with
//! `"app_event_id": null` are answered with an echo in the reply schema the listener can read.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;

use common::*;
use pacer_bridge::store::Store;
use pacer_protocol::Codec;
use serde_json::Value;

/// The fixture files, in file-name order (the order a listener would send them).
fn fixtures() -> Vec<(String, Value)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/original-listener");
    pacer_protocol::samples::json_files(&folder).unwrap()
}

#[test]
fn registered_messages_decode_and_encode_back_unchanged() {
    for (name, message) in fixtures() {
        if message["payload"]["app_event_id"].is_null() {
            continue;
        }
        let bytes = serde_json::to_vec(&message).unwrap();
        let event = Codec::Json
            .decode_event(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let again: Value =
            serde_json::from_slice(&Codec::Json.encode_event(&event).unwrap()).unwrap();
        assert_same(&again, &message, &name);
    }
}

/// The same document: integers exact, floats to the last bit or two (serde_json without its
/// `float_roundtrip` feature may parse a 17-digit float one unit in the last place off).
fn assert_same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (key, value) in x {
                assert_same(value, &y[key], &format!("{at}.{key}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                assert_same(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (p, q) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                x.is_f64()
                    && y.is_f64()
                    && (p - q).abs() <= 4.0 * f64::EPSILON * p.abs().max(q.abs()),
                "{at}: {x} vs {y}"
            );
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn the_bridge_accepts_every_shape_of_the_original_listener() {
    let files = fixtures();
    assert!(files.len() >= 10, "the fixtures are missing");
    let dir = TempDir::new("original-listener");
    let db = dir.path().join("h.db");
    let server = start("pacer", &db);
    let client = Client::connect(server.endpoint());
    // The later messages belong to the first run (the listener's own id is replaced by ours).
    let mut run_id: Option<String> = None;
    let mut unregistered = 0;
    for (name, mut message) in files {
        let event_type = message["event_type"].as_str().unwrap().to_string();
        if event_type == "APPLICATION_START" {
            let reply = client.send(&message);
            let specs = &message["payload"]["app_specs"];
            let s = scale_out(&reply);
            assert!(
                s >= specs["min_executors"].as_i64().unwrap()
                    && s <= specs["max_executors"].as_i64().unwrap(),
                "{name}: {reply}"
            );
            run_id.get_or_insert(id(&reply));
            continue;
        }
        let payload = &mut message["payload"];
        let num_executors = payload["num_executors"].as_i64().unwrap();
        if payload["app_event_id"].is_null() {
            unregistered += 1;
            let reply = client.send(&message);
            assert_eq!(reply["app_event_id"], Value::Null, "{name}: {reply}");
            assert_eq!(
                reply["recommended_scale_out"], num_executors,
                "{name}: an echo"
            );
            assert!(reply["error"].is_string(), "{name}: {reply}");
            continue;
        }
        let ours = run_id.clone().expect("an APPLICATION_START comes first");
        payload["app_event_id"] = Value::from(ours.clone());
        let reply = client.send(&message);
        assert!(reply.get("error").is_none(), "{name}: {reply}");
        assert_eq!(id(&reply), ours, "{name}");
        assert!(scale_out(&reply) >= 1, "{name}: {reply}");
    }
    let counters = server.counters();
    assert_eq!(counters.unknown_app.load(Ordering::Relaxed), 0);
    assert_eq!(
        counters.bad_messages.load(Ordering::Relaxed),
        unregistered,
        "only the unregistered messages are not handled as events"
    );
    server.stop();

    let store = Store::open(&db).unwrap();
    let reader = store.reader().unwrap();
    let (apps, jobs, stages, _) = reader.counts().unwrap();
    assert_eq!(
        (apps, jobs, stages),
        (2, 3, 3),
        "both runs, every job and stage stored; nothing of the unregistered ones"
    );
    let run = reader.run_detail(&run_id.unwrap()).unwrap().unwrap();
    assert_eq!(run.final_scale_out, Some(35));
}
