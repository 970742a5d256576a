//! `serve --http`: the operational endpoints of a real bridge, over a real TCP socket.

mod common;

use std::time::{Duration, Instant};

use common::*;
use pacer_bridge::http;

fn get(base: &str, path: &str) -> (u16, String) {
    match ureq::get(&format!("{base}{path}")).call() {
        Ok(response) => (response.status(), response.into_string().unwrap()),
        Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

#[test]
fn metrics_health_and_the_pages_of_a_recorded_run() {
    let dir = TempDir::new("http");
    let server = start("pacer", &dir.path().join("h.db"));
    let web = http::start("127.0.0.1:0".parse().unwrap(), server.state()).unwrap();
    let base = format!("http://{}", web.address());

    let client = Client::connect(server.endpoint());
    let id = id(&client.send(&app_start("WebApp", true, 60_000, 1_000)));
    client.send(&job_start(&id, 0, 1_100, 4));
    client.send(&job_end(&id, 0, 2_000, 4));
    client.send(&app_end(&id, 2_500, 4));
    client.raw(b"{not json");

    let (status, metrics) = get(&base, "/metrics");
    assert_eq!(status, 200);
    for line in [
        r#"pacer_bridge_messages_received_total{codec="json",event_type="JOB_END"} 1"#,
        r#"pacer_bridge_decode_errors_total{kind="malformed"} 1"#,
        r#"pacer_bridge_runs_finished_total{outcome="met"} 1"#,
        r#"pacer_bridge_policy_info{policy="pacer"} 1"#,
        "pacer_bridge_applications_active 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    for name in [
        "pacer_bridge_replies_sent_total",
        "pacer_bridge_decision_duration_seconds_bucket",
        "pacer_bridge_runs_recorded_total",
        "pacer_bridge_store_write_queue_depth",
        "pacer_bridge_store_commit_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }

    assert_eq!(get(&base, "/healthz").0, 200);
    assert_eq!(get(&base, "/readyz"), (200, "ready\n".into()));

    // The store commits in groups a few milliseconds after the reply: wait for the whole run.
    let deadline = Instant::now() + Duration::from_secs(10);
    let index = loop {
        let (status, index) = get(&base, "/");
        assert_eq!(status, 200);
        if index.contains("1 met, 0 missed") || Instant::now() > deadline {
            break index;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        index.contains("WebApp") && index.contains("1 met, 0 missed"),
        "{index}"
    );
    assert!(index.contains(&format!("/runs/{id}")), "{index}");

    let (status, run) = get(&base, &format!("/runs/{id}"));
    assert_eq!(status, 200);
    assert!(run.contains("<svg"), "the executors chart is inline SVG");
    assert!(run.contains(r#"class="decisions""#));

    assert_eq!(get(&base, "/runs/no-such-run").0, 404);
    drop(web);
    server.stop();
}
