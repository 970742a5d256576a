//! The JNI layer exercised from a real JVM started in this process (`-Xcheck:jni`): Java calls
//! `dev.pacer.core.PacerCore`, which calls into the `libpacer.so` cargo built next to this test.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn classes_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("jni-test-classes")
}

/// Compiles the Spark-free Java API and the test drivers with javac.
fn compile_java() -> PathBuf {
    let out = classes_dir();
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
    call_static("dev/pacer/core/JniDriver", method, args)
}

/// Calls a static `String... -> String` method of `class` (`dev/pacer/core/...`).
fn call_static(class: &str, method: &str, args: &[&str]) -> Result<String, String> {
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
            jni::strings::JNIString::new(class),
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

/// Java and Rust index the `long[]` arrays of a stage completion by the same named slots: the
/// constants of the Java classes (read by reflection) against the names libpacer.so returns.
#[test]
fn stage_array_slots_agree_between_java_and_rust() {
    for (class, first, last) in [
        (
            "dev.pacer.core.StageMetricSlots",
            "EXECUTOR_RUN_TIME_MS",
            "PEAK_EXECUTION_MEMORY",
        ),
        (
            "dev.pacer.core.RddTotalSlots",
            "NUM_PARTITIONS",
            "DISK_SIZE",
        ),
    ] {
        let java = call_driver("javaSlots", &[class]).unwrap();
        let native = call_driver("nativeSlots", &[class]).unwrap();
        assert_eq!(
            java, native,
            "{class}: Java slots (left) vs native slots (right)"
        );
        assert!(
            native.starts_with(first) && native.ends_with(last),
            "{class}: {native}"
        );
    }
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

/// Runs `dev.pacer.core.NativeLoaderDriver` in another JVM (a second driver on the same host).
fn loader_process(args: &[&str]) -> Command {
    jvm(); // compiles the classes
    let mut command = Command::new("java");
    command
        .arg("-cp")
        .arg(classes_dir())
        .arg("dev.pacer.core.NativeLoaderDriver")
        .args(args);
    command
}

fn call_loader_driver(method: &str, args: &[&str]) -> String {
    call_static("dev/pacer/core/NativeLoaderDriver", method, args).unwrap()
}

fn loader_process_output(args: &[&str]) -> String {
    let output = loader_process(args).output().expect("java runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// A JVM holding the lock on `lock_file` until it is killed.
fn lock_holder(lock_file: &Path) -> Child {
    let mut child = loader_process(&["hold", lock_file.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("java runs");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Extracted libraries of killed drivers are deleted at load; those of live JVMs (another
/// process, another class loader of this JVM, this loader itself) are kept with their locks.
#[test]
fn stale_extracted_libraries_are_deleted_and_live_ones_kept() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-loader-cleanup");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for name in [
        "libpacer-killed.so",     // a killed driver's library and unlocked lock file
        "libpacer-killed.so.lck", //
        "libpacer-old.so",        // no lock file (made old below): a gone pre-lock-file loader's
        "libpacer-fresh.so",      // no lock file, just written: a pre-lock-file loader's, loading
        "libpacer-orphan.so.lck", // a lock file whose library was never written
        "libpacer-live.so",       // a live driver's, locked by another process
        "libpacer-live.so.lck",   //
        "libpacer-sibling.so",    // locked by this JVM, as another class loader would
        "libpacer-sibling.so.lck",
        "libpacer.so", // not extracted by the loader
        "libpacer-notes.txt",
        "libother-1.so",
    ] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(dir.join("libpacer-old.so"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let mut live = lock_holder(&dir.join("libpacer-live.so.lck"));
    assert_eq!(
        call_loader_driver("holdLock", &[&path("libpacer-sibling.so.lck")]),
        "locked"
    );
    let own = PathBuf::from(call_loader_driver("extract", &[dir.to_str().unwrap()]));
    let own_name = own.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        own_name.starts_with("libpacer-") && own_name.ends_with(".so"),
        "{own_name}"
    );

    assert_eq!(
        call_loader_driver("deleteStale", &[dir.to_str().unwrap()]),
        "4"
    );
    let mut expected = vec![
        "libother-1.so".to_string(),
        "libpacer-fresh.so".into(),
        "libpacer-live.so".into(),
        "libpacer-live.so.lck".into(),
        "libpacer-notes.txt".into(),
        "libpacer-sibling.so".into(),
        "libpacer-sibling.so.lck".into(),
        "libpacer.so".into(),
        own_name.clone(),
        format!("{own_name}.lck"),
    ];
    expected.sort();
    assert_eq!(file_names(&dir), expected);
    // The cleanup kept this JVM's locks (closing a channel on a locked file would drop them),
    // so another driver starting now deletes nothing either.
    for lock in [
        path("libpacer-sibling.so.lck"),
        format!("{}.lck", own.display()),
    ] {
        assert_eq!(loader_process_output(&["probe", &lock]), "held", "{lock}");
    }
    assert_eq!(
        loader_process_output(&["clean", dir.to_str().unwrap()]),
        "0"
    );
    assert_eq!(file_names(&dir), expected);

    // Killing the live driver leaves its files behind; the next cleanup deletes them.
    live.kill().unwrap();
    live.wait().unwrap();
    assert_eq!(
        call_loader_driver("deleteStale", &[dir.to_str().unwrap()]),
        "2"
    );
    expected.retain(|name| !name.starts_with("libpacer-live"));
    assert_eq!(file_names(&dir), expected);
}

/// Drivers starting at once on one host, each cleaning the shared folder before and after
/// extracting its library, never delete a live one; what a killed one left is deleted.
#[test]
fn concurrent_drivers_keep_each_others_libraries() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-loader-race");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dir_arg = dir.to_str().unwrap();
    for name in ["libpacer-killed.so", "libpacer-killed.so.lck"] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    let drivers: Vec<Child> = (0..4)
        .map(|_| {
            loader_process(&["race", dir_arg, "300"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("java runs")
        })
        .collect();
    for driver in drivers {
        let output = driver.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
    }
    // The drivers exited normally: their files were deleted at exit, the killed one's by them.
    assert_eq!(file_names(&dir), Vec::<String>::new());
}
