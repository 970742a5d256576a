//! The wire format checked field by field against docs/PROTOCOL.md, in both codecs, on the
//! sample messages of `protocol/samples/`.

use std::path::Path;

use pacer_protocol::{samples, Codec, Event, ProtocolError, Reply};
use serde_json::{json, Value};

/// Every sample file of the folder, parsed: the folder, not a list in the code, is the set.
fn sample_files() -> Vec<(String, Value)> {
    samples::json_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")).unwrap()
}

fn sample(name: &str) -> Value {
    sample_files()
        .into_iter()
        .find(|(file, _)| file == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
        .1
}

fn to_json(event: &Event) -> Value {
    serde_json::from_slice(&Codec::Json.encode_event(event).unwrap()).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    StrList,
    IntList,
    Object,
}

/// The object has exactly these fields, each of the JSON type PROTOCOL.md gives.
fn assert_fields(value: &Value, expected: &[(&str, Kind)]) {
    let map = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    wanted.sort_unstable();
    assert_eq!(names, wanted, "field names of {value}");
    for (name, kind) in expected {
        let v = &map[*name];
        let ok = match kind {
            Kind::Str => v.is_string(),
            Kind::Int => v.is_i64() || v.is_u64(),
            Kind::Float => v.is_f64(),
            Kind::Bool => v.is_boolean(),
            Kind::StrList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Kind::IntList => v
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x.is_i64() || x.is_u64())),
            Kind::Object => v.is_object(),
        };
        assert!(ok, "field `{name}` should be {kind:?}, is {v}");
    }
}

fn assert_envelope(value: &Value, event_type: &str) -> Value {
    assert_fields(
        value,
        &[("event_type", Kind::Str), ("payload", Kind::Object)],
    );
    assert_eq!(value["event_type"], event_type);
    value["payload"].clone()
}

#[test]
fn the_embedded_samples_are_the_folder() {
    let mut embedded: Vec<(String, Value)> = samples::FILES
        .iter()
        .map(|(name, text)| (name.to_string(), serde_json::from_str(text).unwrap()))
        .collect();
    embedded.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(embedded, sample_files());
}

#[test]
fn every_sample_event_decodes_and_encodes_back_unchanged() {
    for (name, value) in sample_files() {
        if name == "reply.json" {
            continue;
        }
        let bytes = serde_json::to_vec(&value).unwrap();
        let event = Codec::Json
            .decode_event(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(to_json(&event), value, "{name}");
    }
}

#[test]
fn application_start_fields() {
    let payload = assert_envelope(&sample("application_start.json"), "APPLICATION_START");
    use Kind::*;
    assert_fields(
        &payload,
        &[
            ("application_id", Str),
            ("app_name", Str),
            ("app_time", Int),
            ("is_adaptive", Bool),
            ("is_training", Bool),
            ("app_specs", Object),
            ("driver_specs", Object),
            ("executor_specs", Object),
            ("environment_specs", Object),
        ],
    );
    assert_fields(
        &payload["app_specs"],
        &[
            ("algorithm_name", Str),
            ("algorithm_args", StrList),
            ("datasize_mb", Int),
            ("target_runtime", Int),
            ("min_executors", Int),
            ("max_executors", Int),
        ],
    );
    for specs in ["driver_specs", "executor_specs"] {
        assert_fields(
            &payload[specs],
            &[("cores", Int), ("memory", Str), ("memory_overhead", Str)],
        );
    }
    assert_fields(
        &payload["environment_specs"],
        &[
            ("machine_type", Str),
            ("hadoop_version", Str),
            ("spark_version", Str),
            ("scala_version", Str),
            ("java_version", Str),
        ],
    );
    // Each field lands in the field of the same name.
    let start = samples::application_start();
    assert_eq!(start.application_id, "app-20240101-0001");
    assert_eq!(start.app_name, "KMeans with Params(in, 10)");
    assert_eq!(start.app_time, 1_700_000_000_000);
    assert!(start.is_adaptive && !start.is_training);
    assert_eq!(start.app_specs.algorithm_args, ["in", "10"]);
    assert_eq!(start.app_specs.datasize_mb, 2048);
    assert_eq!(start.app_specs.target_runtime, 840_000);
    assert_eq!(
        (start.app_specs.min_executors, start.app_specs.max_executors),
        (4, 36)
    );
    assert_eq!(
        (start.driver_specs.cores, start.driver_specs.memory.as_str()),
        (2, "4g")
    );
    assert_eq!(start.executor_specs.memory_overhead, "819m");
    assert_eq!(start.environment_specs.machine_type, "n1-standard-4");
    assert_eq!(start.environment_specs.spark_version, "3.5.1");
    assert_eq!(start.environment_specs.java_version, "17");
}

/// JOB_START's fields; JOB_END has them too.
const JOB_START_FIELDS: [(&str, Kind); 4] = [
    ("app_event_id", Kind::Str),
    ("app_time", Kind::Int),
    ("job_id", Kind::Int),
    ("num_executors", Kind::Int),
];

#[test]
fn job_start_fields() {
    let payload = assert_envelope(&sample("job_start.json"), "JOB_START");
    assert_fields(&payload, &JOB_START_FIELDS);
    let job = samples::job_start();
    assert_eq!(
        (
            job.app_event_id.as_str(),
            job.app_time,
            job.job_id,
            job.num_executors
        ),
        ("42", 1_700_000_001_000, 3, 4)
    );
}

#[test]
fn job_end_fields() {
    let payload = assert_envelope(&sample("job_end.json"), "JOB_END");
    use Kind::*;
    let mut fields = JOB_START_FIELDS.to_vec();
    fields.extend([("rescaling_time_ratio", Float), ("stages", Object)]);
    assert_fields(&payload, &fields);
    let stages = payload["stages"].as_object().unwrap();
    assert_eq!(
        stages.keys().collect::<Vec<_>>(),
        vec!["7"],
        "keyed by stage id as a string"
    );
    let stage = &stages["7"];
    assert_fields(
        stage,
        &[
            ("stage_id", Str),
            ("stage_name", Str),
            ("num_tasks", Int),
            ("parent_stage_ids", IntList),
            ("attempt_id", Int),
            ("failure_reason", Str),
            ("start_time", Int),
            ("end_time", Int),
            ("start_scale_out", Int),
            ("end_scale_out", Int),
            ("rescaling_time_ratio", Float),
            ("rdd_num_partitions", Int),
            ("rdd_num_cached_partitions", Int),
            ("rdd_mem_size", Int),
            ("rdd_disk_size", Int),
            ("metrics", Object),
        ],
    );
    assert_fields(
        &stage["metrics"],
        &[
            ("cpu_utilization", Float),
            ("gc_time_ratio", Float),
            ("shuffle_read_write_ratio", Float),
            ("input_output_ratio", Float),
            ("memory_spill_ratio", Float),
        ],
    );
    let job = samples::job_end();
    assert_eq!(job.rescaling_time_ratio, 0.125);
    let stage = &job.stages["7"];
    assert_eq!(stage.stage_id, "7");
    assert_eq!(stage.parent_stage_ids, [5, 6]);
    assert_eq!((stage.start_scale_out, stage.end_scale_out), (4, 6));
    assert_eq!(stage.rescaling_time_ratio, 0.25);
    assert_eq!(
        (stage.rdd_num_partitions, stage.rdd_num_cached_partitions),
        (200, 100)
    );
    assert_eq!((stage.rdd_mem_size, stage.rdd_disk_size), (1_048_576, 0));
    assert_eq!(stage.metrics.cpu_utilization, 0.8);
    assert_eq!(stage.metrics.gc_time_ratio, 0.05);
    assert_eq!(stage.metrics.memory_spill_ratio, 0.5);
    // Integral ratios stay floats on the wire, as json4s writes them.
    assert_eq!(
        to_json(&Event::JobEnd(job))["payload"]["stages"]["7"]["metrics"]
            ["shuffle_read_write_ratio"],
        json!(1.0)
    );
}

#[test]
fn application_end_fields() {
    let payload = assert_envelope(&sample("application_end.json"), "APPLICATION_END");
    use Kind::*;
    assert_fields(
        &payload,
        &[
            ("app_event_id", Str),
            ("app_time", Int),
            ("num_executors", Int),
        ],
    );
}

#[test]
fn reply_fields() {
    use Kind::*;
    assert_fields(
        &sample("reply.json"),
        &[("app_event_id", Str), ("recommended_scale_out", Int)],
    );
    assert_eq!(
        samples::reply(),
        Reply {
            app_event_id: "42".into(),
            recommended_scale_out: 12
        }
    );
}

#[test]
fn documents_written_by_the_original_listener_decode() {
    // As json4s writes them: key order differs.
    let original = br#"{"payload":{"num_executors":4,"job_id":3,"app_time":1700000001000,
        "app_event_id":"42"},"event_type":"JOB_START"}"#;
    assert_eq!(
        Codec::Json.decode_event(original).unwrap(),
        Event::JobStart(samples::job_start())
    );
    let unknown_type = br#"{"event_type":"JOB_MIDDLE","payload":{}}"#;
    assert_eq!(
        Codec::Json.decode_event(unknown_type).unwrap_err(),
        ProtocolError::UnknownEventType("JOB_MIDDLE".into())
    );
}

#[test]
fn round_trips_in_both_codecs() {
    for codec in Codec::ALL {
        for event in samples::events() {
            let bytes = codec.encode_event(&event).unwrap();
            assert_eq!(Codec::detect(&bytes), Some(codec));
            assert_eq!(codec.decode_event(&bytes).unwrap(), event, "{codec:?}");
        }
        let reply = samples::reply();
        let bytes = codec.encode_reply(&reply).unwrap();
        assert_eq!(codec.decode_reply(&bytes).unwrap(), reply);
    }
}

#[test]
fn messagepack_uses_named_fields() {
    for event in samples::events() {
        let bytes = Codec::MessagePack.encode_event(&event).unwrap();
        // A generic reader (as a Python bridge with msgpack.unpackb) sees the same document as JSON.
        let generic: Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(generic, to_json(&event));
    }
}

#[test]
fn reply_ignores_unknown_fields() {
    let bytes =
        br#"{"app_event_id":"42","recommended_scale_out":7,"reason":"model","extra":{"a":1}}"#;
    assert_eq!(
        Codec::Json.decode_reply(bytes).unwrap(),
        Reply {
            app_event_id: "42".into(),
            recommended_scale_out: 7
        }
    );
}

#[test]
fn reply_errors_name_the_field() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"app_event_id":"42"}"#, "recommended_scale_out"),
        (
            br#"{"app_event_id":"42","recommended_scale_out":"7"}"#,
            "recommended_scale_out",
        ),
        (
            br#"{"app_event_id":"42","recommended_scale_out":7.5}"#,
            "recommended_scale_out",
        ),
        (
            br#"{"app_event_id":"42","recommended_scale_out":null}"#,
            "recommended_scale_out",
        ),
        (br#"{"recommended_scale_out":7}"#, "app_event_id"),
        (
            br#"{"app_event_id":42,"recommended_scale_out":7}"#,
            "app_event_id",
        ),
    ];
    for (bytes, field) in cases {
        let err = Codec::Json.decode_reply(bytes).unwrap_err();
        assert!(
            matches!(err, ProtocolError::InvalidField { .. }),
            "{err:?} should be an invalid field"
        );
        assert!(err.to_string().contains(field), "{err} should name {field}");
    }
    assert_eq!(
        Codec::Json.decode_reply(b"[1,2]").unwrap_err(),
        ProtocolError::Malformed("expected a JSON object".into())
    );
    assert!(matches!(
        Codec::Json.decode_reply(b"{not json").unwrap_err(),
        ProtocolError::Malformed(_)
    ));
    let msgpack_missing = rmp_serde::to_vec_named(&json!({"app_event_id": "42"})).unwrap();
    let err = Codec::MessagePack
        .decode_reply(&msgpack_missing)
        .unwrap_err();
    assert_eq!(
        err,
        ProtocolError::InvalidField {
            path: String::new(),
            detail: "missing field `recommended_scale_out`".into()
        }
    );
    let msgpack_array = rmp_serde::to_vec(&("42", 7)).unwrap();
    assert!(matches!(
        Codec::MessagePack.decode_reply(&msgpack_array).unwrap_err(),
        ProtocolError::Malformed(_)
    ));
}
