//! The JNI layer exercised from a real JVM started in this process (`-Xcheck:jni`): Java calls
//! `dev.pacer.core.PacerCore`, which calls into the `libpacer.so` cargo built next to this test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{unused_endpoint, FakeBridge, Response};
use jni::objects::{JObject, JString, JValue};
use jni::{jni_sig, jni_str, Env, InitArgsBuilder, JavaVM};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compiles the Spark-free Java API and the test driver with javac.
fn compile_java() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jni-test-classes");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let root = repo_root();
    let mut sources: Vec<PathBuf> = Vec::new();
    for dir in [
        "jvm-shim/src/main/java/dev/pacer/core",
        "jvm-shim/src/test/java/dev/pacer/core",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            sources.push(entry.unwrap().path());
        }
    }
    let status = Command::new("javac")
        .arg("-d")
        .arg(&out)
        .args(&sources)
        .status()
        .expect("javac runs");
    assert!(status.success(), "javac failed");
    out
}

fn jvm() -> &'static JavaVM {
    static JVM: OnceLock<JavaVM> = OnceLock::new();
    JVM.get_or_init(|| {
        let classes = compile_java();
        // cargo builds the cdylib next to the test binaries (target/<profile>/deps).
        let library_dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        assert!(
            library_dir.join("libpacer.so").exists(),
            "libpacer.so in {library_dir:?}"
        );
        let args = InitArgsBuilder::new()
            .option("-Xcheck:jni")
            .option(format!("-Djava.class.path={}", classes.display()))
            .option(format!("-Djava.library.path={}", library_dir.display()))
            .build()
            .unwrap();
        JavaVM::new(args).unwrap()
    })
}

/// Runs `call` on an attached thread; a Java exception it raised becomes `Err("class: message")`.
fn in_jvm<T>(call: impl FnOnce(&mut Env) -> jni::errors::Result<T>) -> Result<T, String> {
    match jvm().attach_current_thread(call) {
        Ok(value) => Ok(value),
        Err(jni::errors::Error::CaughtJavaException { name, msg, .. }) => {
            Err(format!("{name}: {msg}"))
        }
        Err(other) => panic!("JNI failure: {other}"),
    }
}

/// Calls a static `String... -> String` method of JniDriver.
fn call_driver(method: &str, args: &[&str]) -> Result<String, String> {
    in_jvm(|env: &mut Env| -> jni::errors::Result<String> {
        let strings: Vec<JString> = args
            .iter()
            .map(|a| JString::from_str(env, a))
            .collect::<jni::errors::Result<_>>()?;
        let values: Vec<JValue> = strings.iter().map(|s| JValue::Object(s.as_ref())).collect();
        let descriptor = format!(
            "({})Ljava/lang/String;",
            "Ljava/lang/String;".repeat(args.len())
        );
        let signature = jni::signature::RuntimeMethodSignature::from_str(&descriptor)?;
        let name = jni::strings::JNIString::new(method);
        let value = env.call_static_method(
            jni_str!("dev/pacer/core/JniDriver"),
            &name,
            signature.method_signature(),
            &values,
        )?;
        let object: JObject = value.l()?;
        env.cast_local::<JString>(object)?.try_to_string(env)
    })
}

/// Calls `PacerCore.selfTest(mode)`; returns the exception's class and message if it threw.
fn self_test(mode: i32) -> Result<i32, String> {
    in_jvm(|env: &mut Env| -> jni::errors::Result<i32> {
        env.call_static_method(
            jni_str!("dev/pacer/core/PacerCore"),
            jni_str!("selfTest"),
            jni_sig!("(I)I"),
            &[JValue::Int(mode)],
        )?
        .i()
    })
}

#[test]
fn native_error_becomes_pacer_native_exception() {
    let err = self_test(1).unwrap_err();
    assert!(
        err.starts_with("dev.pacer.core.PacerNativeException"),
        "{err}"
    );
    assert!(
        err.contains("nativeSelfTest: self-test error requested"),
        "{err}"
    );
}

#[test]
fn native_panic_becomes_pacer_native_exception() {
    let err = self_test(2).unwrap_err();
    assert!(
        err.starts_with("dev.pacer.core.PacerNativeException"),
        "{err}"
    );
    assert!(
        err.contains("native panic: self-test panic requested"),
        "{err}"
    );
    // The JVM is still alive and the library still usable after the panic.
    assert_eq!(self_test(2).unwrap_err(), err);
    assert_eq!(self_test(5), Ok(5));
}

#[test]
fn invalid_configuration_names_the_key() {
    let endpoint = unused_endpoint();
    let err = call_driver(
        "tryCreate",
        &[&endpoint, "spark.customExtraListener.maxExecutors", "many"],
    )
    .unwrap();
    assert!(
        err.starts_with("dev.pacer.core.PacerNativeException"),
        "{err}"
    );
    assert!(
        err.contains("spark.customExtraListener.maxExecutors") && err.contains("many"),
        "{err}"
    );
    let disabled = call_driver(
        "tryCreate",
        &[&endpoint, "spark.customExtraListener.enabled", "false"],
    )
    .unwrap();
    assert_eq!(disabled, "disabled");
}

#[test]
fn malformed_arguments_become_exceptions() {
    let message = call_driver("wrongMetricsLength", &[&unused_endpoint()]).unwrap();
    assert!(
        message.contains("metrics must hold exactly 9 values"),
        "{message}"
    );
}

#[test]
fn whole_application_through_java() {
    let script = |message: &Value| {
        let scale_out = match message["event_type"].as_str() {
            Some("JOB_END") => 5,
            _ => message["payload"]["num_executors"].as_i64().unwrap_or(2),
        };
        Response::Value(json!({"app_event_id": "jni-1", "recommended_scale_out": scale_out}))
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let report = call_driver("runApplication", &[&bridge.endpoint]).unwrap();
    assert!(report.starts_with("[request 5 executors] "), "{report}");
    assert!(report.ends_with(" []"), "no actions after close: {report}");
    let messages = bridge.wait_for(4, Duration::from_secs(10));
    let types: Vec<&str> = messages
        .iter()
        .map(|m| m["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "APPLICATION_START",
            "JOB_START",
            "JOB_END",
            "APPLICATION_END"
        ]
    );
    let start = &messages[0]["payload"];
    assert_eq!(start["application_id"], "app-jni");
    assert_eq!(start["app_specs"]["algorithm_name"], "JNI test");
    let stage = &messages[2]["payload"]["stages"]["0"];
    assert_eq!(stage["stage_name"], "first");
    assert_eq!(stage["metrics"]["cpu_utilization"], 0.5);
    assert_eq!(stage["failure_reason"], "");

    let logs = call_driver("drainedLogs", &[]).unwrap();
    assert!(logs.contains("INFO pacer::engine: Pacer started"), "{logs}");
    assert!(logs.contains("requesting 5 executors"), "{logs}");
}
