//! The dispatcher, the workers and the registry, really started: a real Redis, the real
//! `pacer-proxy` binary, and a stand-in for Java that records how the worker launched it.

mod common;

use std::time::Duration;

use common::*;
use pacer_proxy::wire::{self, DispatcherReply, DispatcherRequest, WorkerReply};

const NO_ABORT: &dyn Fn() -> bool = &|| false;

#[test]
fn workers_register_with_their_resources_and_vanish_with_their_executors_when_killed() {
    let redis = Redis::start(None);
    let stage = Stage::new();
    let (worker, id) = start_worker(&redis, &stage, "127.0.0.2", 3);
    let record = worker_record(&redis, &id).unwrap();
    assert_eq!(record.host, "127.0.0.2");
    assert_eq!((record.cores, record.memory_mb), (3, 4096));
    assert_eq!(
        record.spark_homes.keys().collect::<Vec<_>>(),
        ["3.5", "4.0"],
        "versions read from the homes' jars"
    );
    let (_dispatcher, _) = start_dispatcher(&redis, &stage, "RANDOM");
    assert_eq!(
        placed(client(&redis).exchange(&acquire(1, &[]), NO_ABORT).unwrap()).len(),
        1
    );
    let mut pid = None;
    wait_for(
        "the executor in the registry",
        Duration::from_secs(10),
        || {
            pid = worker_record(&redis, &id).and_then(|w| w.executors.first().map(|e| e.pid));
            pid.is_some()
        },
    );
    worker.signal(libc::SIGKILL);
    // Its executor goes with it (nobody could stop it any more).
    let pid = pid.unwrap();
    wait_for(
        "the executor to die with its worker",
        Duration::from_secs(10),
        || !alive(pid),
    );
    // Nobody removes the entry: it expires.
    wait_for(
        "the entry to expire",
        Duration::from_millis(TTL_MS + 2_000),
        || worker_record(&redis, &id).is_none(),
    );
}

#[test]
fn placements_follow_the_selector_and_launch_the_backend_with_the_workers_host() {
    let redis = Redis::start(None);
    let stage = Stage::new();
    let (_w2, id2) = start_worker(&redis, &stage, "127.0.0.2", 2);
    let (_w3, id3) = start_worker(&redis, &stage, "127.0.0.3", 2);
    let (_dispatcher, _) = start_dispatcher(&redis, &stage, "ROUND_ROBIN");
    let mut client = client(&redis);

    let first = placed(client.exchange(&acquire(3, &[]), NO_ABORT).unwrap());
    let ids: Vec<&str> = first.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        ids,
        ["1000000", "1000001", "1000002"],
        "ids from executor.id.start"
    );
    let workers: Vec<&str> = first.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(workers, [&id2, &id3, &id2], "round robin in id order");

    // The worker started the executor backend on its own Java, with its own host.
    let dir = stage.work_dir("127.0.0.3").join(APP).join("1000001");
    wait_for("the stand-in's record", Duration::from_secs(10), || {
        dir.join("env").exists()
    });
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert!(args.contains(&"org.apache.spark.executor.CoarseGrainedExecutorBackend"));
    assert!(
        args.contains(&"--add-opens=java.base/java.nio=ALL-UNNAMED"),
        "module options"
    );
    assert!(args.contains(&"-Xmx512m"));
    for (flag, value) in [
        ("--hostname", "127.0.0.3"),
        ("--bind-address", "127.0.0.3"),
        ("--executor-id", "1000001"),
        ("--app-id", APP),
        ("--cores", "1"),
        ("--driver-url", driver_url().as_str()),
    ] {
        assert!(
            args.windows(2).any(|w| w == [flag, value]),
            "{flag} {value} in {args:?}"
        );
    }
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    assert!(
        env.contains("SPARK_EXECUTOR_ATTRIBUTE_PACER_POOL=external"),
        "{env}"
    );
    assert!(
        env.contains(&format!("SPARK_EXECUTOR_ATTRIBUTE_PACER_WORKER={id3}")),
        "{env}"
    );

    // One core is left (on 127.0.0.3): two more fit only one.
    let reply = client.exchange(&acquire(2, &[]), NO_ABORT).unwrap();
    match &reply {
        DispatcherReply::Placed {
            executors,
            unplaced,
            reason,
        } => {
            assert_eq!(executors.len(), 1);
            assert_eq!(executors[0].worker_id, id3);
            assert_eq!(*unplaced, 1);
            assert!(
                reason
                    .as_deref()
                    .unwrap()
                    .contains("no worker has 1 free cores"),
                "{reason:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Release stops the process; the end of the application stops the rest.
    let pid_of = |worker: &str, executor: &str| {
        worker_record(&redis, worker)
            .and_then(|w| w.executors.into_iter().find(|e| e.executor_id == executor))
            .map(|e| e.pid)
    };
    let pid = pid_of(&id2, "1000000").expect("registered with its pid");
    let released = client
        .exchange(
            &DispatcherRequest::Release {
                app_id: APP.into(),
                executor_ids: vec!["1000000".into()],
            },
            NO_ABORT,
        )
        .unwrap();
    assert_eq!(
        released,
        DispatcherReply::Released {
            executor_ids: vec!["1000000".into()]
        }
    );
    wait_for("executor 1000000 to exit", Duration::from_secs(10), || {
        !alive(pid)
    });
    wait_for("its registry entry to go", Duration::from_secs(10), || {
        pid_of(&id2, "1000000").is_none()
    });
    let pids: Vec<u32> = [(&id2, "1000002"), (&id3, "1000001"), (&id3, "1000003")]
        .iter()
        .map(|(w, e)| pid_of(w, e).unwrap())
        .collect();
    client
        .exchange(
            &DispatcherRequest::AppEnded { app_id: APP.into() },
            NO_ABORT,
        )
        .unwrap();
    wait_for("every executor to exit", Duration::from_secs(10), || {
        pids.iter().all(|&p| !alive(p))
    });
}

#[test]
fn executor_ids_never_repeat_what_the_driver_knows() {
    let redis = Redis::start(None);
    let stage = Stage::new();
    let (_w, _) = start_worker(&redis, &stage, "127.0.0.2", 4);
    let (_d, _) = start_dispatcher(&redis, &stage, "PACK");
    let mut client = client(&redis);
    let first = placed(
        client
            .exchange(&acquire(1, &["1000007"]), NO_ABORT)
            .unwrap(),
    );
    assert_eq!(first[0].0, "1000008");
    let second = placed(client.exchange(&acquire(1, &[]), NO_ABORT).unwrap());
    assert_eq!(second[0].0, "1000009");
}

#[test]
fn the_dispatcher_places_on_the_workers_it_knows_while_redis_is_down() {
    let mut redis = Redis::start(None);
    let stage = Stage::new();
    let (_w, id) = start_worker(&redis, &stage, "127.0.0.2", 4);
    let (_d, endpoint) = start_dispatcher(&redis, &stage, "LEAST_LOADED");
    // Let the dispatcher see the worker, then take the registry away.
    let mut client =
        pacer_proxy::client::DispatcherClient::new(Some(endpoint), None, Duration::from_secs(15))
            .unwrap();
    assert_eq!(
        placed(client.exchange(&acquire(1, &[]), NO_ABORT).unwrap()).len(),
        1
    );
    redis.stop();
    std::thread::sleep(Duration::from_millis(1_500));
    let during = placed(client.exchange(&acquire(1, &[]), NO_ABORT).unwrap());
    assert_eq!(during[0].1, id);
    assert_eq!(during[0].0, "1000001", "ids go on locally");
    // Redis comes back empty: the worker registers again by itself.
    redis.restart();
    wait_for(
        "the worker to register again",
        Duration::from_secs(10),
        || worker_record(&redis, &id).is_some_and(|w| w.executors.len() == 2),
    );
}

#[test]
fn a_worker_launches_nothing_but_validated_executors() {
    let redis = Redis::start(None);
    let stage = Stage::new();
    let (_w, id) = start_worker(&redis, &stage, "127.0.0.2", 2);
    let endpoint = worker_record(&redis, &id).unwrap().endpoint;
    let mut connection = pacer_protocol::transport::Connection::new(&endpoint);
    let mut ask =
        |body: &str| match connection.exchange(body.as_bytes(), Duration::from_secs(5), NO_ABORT) {
            pacer_protocol::transport::Exchange::Reply(bytes) => {
                wire::decode::<WorkerReply>(&bytes).unwrap()
            }
            _ => panic!("no reply to {body}"),
        };
    let launch = |field: &str, value: &str| {
        let mut launch = serde_json::json!({
            "app_id": APP, "driver_url": driver_url(), "executor_id": "1000000",
            "cores": 1, "memory_mb": 512, "spark_version": "3.5"
        });
        launch[field] =
            serde_json::from_str(value).unwrap_or(serde_json::Value::String(value.into()));
        serde_json::json!({ "launch": launch }).to_string()
    };
    for (field, value, named) in [
        (
            "driver_url",
            "spark://CoarseGrainedScheduler@h:1 --class Evil",
            "driver_url:",
        ),
        ("app_id", "$(touch /tmp/pwned)", "app_id:"),
        ("executor_id", "1; reboot", "executor_id:"),
        ("spark_version", "../../../usr", "spark_version:"),
        ("cores", "3", "cores:"),
    ] {
        match ask(&launch(field, value)) {
            WorkerReply::Refused { reason } => assert!(reason.starts_with(named), "{reason}"),
            other => panic!("{field}={value}: {other:?}"),
        }
    }
    // Fields a worker does not act on are refused, not ignored.
    let with_command = r#"{"launch":{"app_id":"a","driver_url":"spark://CoarseGrainedScheduler@h:1","executor_id":"1","cores":1,"memory_mb":1,"spark_version":"3.5","command":"/bin/sh"}}"#;
    match ask(with_command) {
        WorkerReply::Error { message } => {
            assert!(message.contains("unknown field `command`"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(ask("not json"), WorkerReply::Error { .. }));
    assert!(worker_record(&redis, &id).unwrap().executors.is_empty());
    // A good one still works after all that.
    assert!(matches!(
        ask(&launch("cores", "1")),
        WorkerReply::Launched { .. }
    ));
    // A second launch of the same id is refused.
    match ask(&launch("cores", "1")) {
        WorkerReply::Refused { reason } => {
            assert!(reason.contains("already runs here"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn executors_of_a_vanished_driver_are_stopped_by_the_worker() {
    let redis = Redis::start(None);
    let stage = Stage::new();
    let (_w, id) = start_worker(&redis, &stage, "127.0.0.2", 2);
    let (_d, _) = start_dispatcher(&redis, &stage, "RANDOM");
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "spark://CoarseGrainedScheduler@127.0.0.1:{}",
        gone.local_addr().unwrap().port()
    );
    drop(gone);
    let mut request = acquire(1, &[]);
    if let DispatcherRequest::Acquire(a) = &mut request {
        a.driver_url = url;
    }
    let mut client = client(&redis);
    assert_eq!(
        placed(client.exchange(&request, NO_ABORT).unwrap()).len(),
        1
    );
    // Three failed checks, five seconds apart.
    wait_for(
        "the worker to stop the orphan",
        Duration::from_secs(30),
        || worker_record(&redis, &id).is_some_and(|w| w.executors.is_empty()),
    );
}

#[test]
fn a_password_protected_registry_and_the_status_report() {
    let redis = Redis::start(Some("s3cret pass"));
    let stage = Stage::new();
    let (_w, id) = start_worker(&redis, &stage, "127.0.0.2", 2);
    let (_d, _) = start_dispatcher(&redis, &stage, "PACK");
    assert_eq!(
        placed(client(&redis).exchange(&acquire(1, &[]), NO_ABORT).unwrap()).len(),
        1
    );
    let status = |extra: &[&str]| {
        let mut args = redis.args();
        args.push("status".into());
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = std::process::Command::new(binary())
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = status(&[]);
    assert!(table.contains("dispatchers: 1"), "{table}");
    assert!(table.contains(&id), "{table}");
    assert!(table.contains(&format!("{APP}: 1000000@{id}")), "{table}");
    let json: serde_json::Value = serde_json::from_str(&status(&["--json"])).unwrap();
    assert_eq!(json["workers"][0]["executors"][0]["executor_id"], "1000000");
    // A wrong password is an error naming the registry, not a hang.
    let out = std::process::Command::new(binary())
        .args([
            "--redis-host",
            "127.0.0.1",
            "--redis-port",
            &redis.settings.port.to_string(),
            "status",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "registry redis://127.0.0.1:{}",
            redis.settings.port
        )),
        "{stderr}"
    );
}
