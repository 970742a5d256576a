//! The wire format checked field by field against PROTOCOL.md, in both codecs.

use std::collections::BTreeMap;

use pacer::protocol::{
    AppSpecs, ApplicationEnd, ApplicationStart, Codec, EnvironmentSpecs, Event, JobEnd, JobStart,
    ProtocolError, Reply, ResourceSpecs, Stage, StageMetrics,
};
use serde_json::{json, Value};

fn application_start() -> Event {
    Event::ApplicationStart(Box::new(ApplicationStart {
        application_id: "app-20240101-0001".into(),
        app_name: "KMeans with Params(in, 10)".into(),
        app_time: 1_700_000_000_000,
        is_adaptive: true,
        is_training: false,
        app_specs: AppSpecs {
            algorithm_name: "KMeans".into(),
            algorithm_args: vec!["in".into(), "10".into()],
            datasize_mb: 2048,
            target_runtime: 840_000,
            min_executors: 4,
            max_executors: 36,
        },
        driver_specs: ResourceSpecs {
            cores: 2,
            memory: "4g".into(),
            memory_overhead: "409m".into(),
        },
        executor_specs: ResourceSpecs {
            cores: 1,
            memory: "8g".into(),
            memory_overhead: "819m".into(),
        },
        environment_specs: EnvironmentSpecs {
            machine_type: "n1-standard-4".into(),
            hadoop_version: "3.3.4".into(),
            spark_version: "3.5.1".into(),
            scala_version: "2.12.18".into(),
            java_version: "17".into(),
        },
    }))
}

fn job_start() -> Event {
    Event::JobStart(JobStart {
        app_event_id: "42".into(),
        app_time: 1_700_000_001_000,
        job_id: 3,
        num_executors: 4,
    })
}

fn stage() -> Stage {
    Stage {
        stage_id: "7".into(),
        stage_name: "map at KMeans.scala:10".into(),
        num_tasks: 200,
        parent_stage_ids: vec![5, 6],
        attempt_id: 1,
        failure_reason: String::new(),
        start_time: 1_700_000_001_100,
        end_time: 1_700_000_001_900,
        start_scale_out: 4,
        end_scale_out: 6,
        rescaling_time_ratio: 0.25,
        rdd_num_partitions: 200,
        rdd_num_cached_partitions: 100,
        rdd_mem_size: 1_048_576,
        rdd_disk_size: 0,
        metrics: StageMetrics {
            cpu_utilization: 0.8,
            gc_time_ratio: 0.05,
            shuffle_read_write_ratio: 1.0,
            input_output_ratio: 0.0,
            memory_spill_ratio: 0.5,
        },
    }
}

fn job_end() -> Event {
    let mut stages = BTreeMap::new();
    stages.insert("7".to_string(), stage());
    Event::JobEnd(JobEnd {
        app_event_id: "42".into(),
        app_time: 1_700_000_002_000,
        job_id: 3,
        num_executors: 6,
        rescaling_time_ratio: 0.125,
        stages,
    })
}

fn application_end() -> Event {
    Event::ApplicationEnd(ApplicationEnd {
        app_event_id: "42".into(),
        app_time: 1_700_000_003_000,
        num_executors: 6,
    })
}

fn all_events() -> Vec<Event> {
    vec![
        application_start(),
        job_start(),
        job_end(),
        application_end(),
    ]
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
fn application_start_fields() {
    let payload = assert_envelope(&to_json(&application_start()), "APPLICATION_START");
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
    assert_eq!(
        payload,
        json!({
            "application_id": "app-20240101-0001",
            "app_name": "KMeans with Params(in, 10)",
            "app_time": 1_700_000_000_000i64,
            "is_adaptive": true,
            "is_training": false,
            "app_specs": {"algorithm_name": "KMeans", "algorithm_args": ["in", "10"],
                          "datasize_mb": 2048, "target_runtime": 840_000,
                          "min_executors": 4, "max_executors": 36},
            "driver_specs": {"cores": 2, "memory": "4g", "memory_overhead": "409m"},
            "executor_specs": {"cores": 1, "memory": "8g", "memory_overhead": "819m"},
            "environment_specs": {"machine_type": "n1-standard-4", "hadoop_version": "3.3.4",
                                  "spark_version": "3.5.1", "scala_version": "2.12.18",
                                  "java_version": "17"}
        })
    );
}

#[test]
fn job_start_fields() {
    let payload = assert_envelope(&to_json(&job_start()), "JOB_START");
    use Kind::*;
    assert_fields(
        &payload,
        &[
            ("app_event_id", Str),
            ("app_time", Int),
            ("job_id", Int),
            ("num_executors", Int),
        ],
    );
    assert_eq!(
        payload,
        json!({"app_event_id": "42", "app_time": 1_700_000_001_000i64, "job_id": 3, "num_executors": 4})
    );
}

#[test]
fn job_end_fields() {
    let payload = assert_envelope(&to_json(&job_end()), "JOB_END");
    use Kind::*;
    assert_fields(
        &payload,
        &[
            ("app_event_id", Str),
            ("app_time", Int),
            ("job_id", Int),
            ("num_executors", Int),
            ("rescaling_time_ratio", Float),
            ("stages", Object),
        ],
    );
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
    assert_eq!(stage["stage_id"], "7");
    assert_eq!(stage["parent_stage_ids"], json!([5, 6]));
    assert_eq!(stage["metrics"]["memory_spill_ratio"], json!(0.5));
}

#[test]
fn application_end_fields() {
    let payload = assert_envelope(&to_json(&application_end()), "APPLICATION_END");
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
fn documents_written_by_the_original_listener_decode() {
    // As json4s writes them: integral ratios still carry a fraction, key order differs.
    let original = br#"{"payload":{"num_executors":4,"job_id":3,"app_time":1700000001000,
        "app_event_id":"42"},"event_type":"JOB_START"}"#;
    assert_eq!(Codec::Json.decode_event(original).unwrap(), job_start());
    let unknown_type = br#"{"event_type":"JOB_MIDDLE","payload":{}}"#;
    assert!(Codec::Json.decode_event(unknown_type).is_err());
}

#[test]
fn round_trips_in_both_codecs() {
    for codec in [Codec::Json, Codec::MessagePack] {
        for event in all_events() {
            let bytes = codec.encode_event(&event).unwrap();
            assert_eq!(Codec::detect(&bytes), Some(codec));
            assert_eq!(codec.decode_event(&bytes).unwrap(), event, "{codec:?}");
        }
        let reply = Reply {
            app_event_id: "42".into(),
            recommended_scale_out: 12,
        };
        let bytes = codec.encode_reply(&reply).unwrap();
        assert_eq!(codec.decode_reply(&bytes).unwrap(), reply);
    }
}

#[test]
fn messagepack_uses_named_fields() {
    for event in all_events() {
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
        assert!(err.to_string().contains(field), "{err} should name {field}");
    }
    assert!(matches!(
        Codec::Json.decode_reply(b"[1,2]").unwrap_err(),
        ProtocolError::NotAnObject { .. }
    ));
    assert!(matches!(
        Codec::Json.decode_reply(b"not json").unwrap_err(),
        ProtocolError::Malformed { .. }
    ));
    let msgpack_missing = rmp_serde::to_vec_named(&json!({"app_event_id": "42"})).unwrap();
    let err = Codec::MessagePack
        .decode_reply(&msgpack_missing)
        .unwrap_err();
    assert_eq!(
        err,
        ProtocolError::MissingField {
            field: "recommended_scale_out"
        }
    );
}
