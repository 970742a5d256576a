//! What a worker agent will start, and nothing else: Spark's executor backend class, from one
//! of its own configured Spark homes, on its own Java, with arguments built here from
//! validated fields. A worker that ran whatever a message said would be a remote shell: no
//! path, class, JVM option or environment variable comes from the message.
//!
//! The JVM is started directly rather than through `bin/spark-class`: Spark 3.5's
//! `spark-class` does not add the `--add-opens` options Spark needs on Java 17 for this class
//! (the executor dies with `IllegalAccessError ... sun.nio.ch.DirectBuffer`). Each home's
//! options come from Spark's own `org.apache.spark.launcher.JavaModuleOptions`, asked once
//! when the worker starts ([`module_options`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::conf::is_host;
use crate::wire::Launch;

pub const EXECUTOR_CLASS: &str = "org.apache.spark.executor.CoarseGrainedExecutorBackend";
/// Spark's executor attributes: `SPARK_EXECUTOR_ATTRIBUTE_<NAME>` becomes attribute `NAME` of
/// the executor in the driver (event log, REST API), which is how external executors are told
/// apart from the cluster manager's.
pub const POOL_ATTRIBUTE: &str = "SPARK_EXECUTOR_ATTRIBUTE_PACER_POOL";
pub const WORKER_ATTRIBUTE: &str = "SPARK_EXECUTOR_ATTRIBUTE_PACER_WORKER";
pub const POOL_EXTERNAL: &str = "external";

/// A Spark installation a worker may start executors from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkHome {
    /// `major.minor`, read from the home's `jars/spark-core_<scala>-<version>.jar`.
    pub version: String,
    pub path: PathBuf,
    /// The JVM options this Spark version needs on the worker's Java (module access).
    pub module_options: Vec<String>,
}

impl SparkHome {
    pub fn detect(path: &Path) -> Result<SparkHome, String> {
        let jars = std::fs::read_dir(path.join("jars"))
            .map_err(|e| format!("{} is not a Spark home: jars/: {e}", path.display()))?;
        for entry in jars.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = core_jar_version(&name) {
                return Ok(SparkHome {
                    version,
                    path: path.to_path_buf(),
                    module_options: Vec::new(),
                });
            }
        }
        Err(format!(
            "{} is not a Spark home: no jars/spark-core_*.jar",
            path.display()
        ))
    }
}

/// `spark-core_2.12-3.5.9.jar` → `3.5`.
fn core_jar_version(file_name: &str) -> Option<String> {
    let rest = file_name
        .strip_prefix("spark-core_")?
        .strip_suffix(".jar")?;
    let (_scala, version) = rest.split_once('-')?;
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| format!("{major}.{minor}"))
}

/// The Java source the worker runs (Java 11+ runs a single source file) to ask a Spark home
/// for its JVM module options.
const MODULE_OPTIONS_SOURCE: &str = "public class PacerModuleOptions { public static void main(String[] a) { System.out.println(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptions()); } }\n";

/// The JVM options `home` needs (Spark 3.3 and later define them), asked of Spark's launcher
/// library with `java`; `scratch` is a folder of the worker's for the source file.
pub fn module_options(java: &Path, home: &Path, scratch: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let source = scratch.join("PacerModuleOptions.java");
    std::fs::write(&source, MODULE_OPTIONS_SOURCE)
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let output = Command::new(java)
        .arg("-cp")
        .arg(home.join("jars").join("*"))
        .arg(&source)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", java.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{} could not read Spark's JavaModuleOptions from {}: {}",
            java.display(),
            home.display(),
            stderr.lines().next().unwrap_or("no output")
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// The worker's Java and the JVM options its administrator set (`worker.java.options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jvm {
    pub java: PathBuf,
    pub options: Vec<String>,
}

/// What the worker has, against which a launch is checked.
#[derive(Debug, Clone)]
pub struct Capacity {
    pub free_cores: u32,
    pub free_memory_mb: u64,
}

/// A launch whose every field passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLaunch {
    pub app_id: String,
    pub driver_url: String,
    pub executor_id: String,
    pub cores: u32,
    pub memory_mb: u64,
    pub home: SparkHome,
}

pub fn validate(
    launch: &Launch,
    homes: &BTreeMap<String, SparkHome>,
    capacity: &Capacity,
) -> Result<ValidLaunch, String> {
    if !is_app_id(&launch.app_id) {
        return Err(format!(
            "app_id: expected letters, digits, '.', '_' or '-' (at most 128), got '{}'",
            launch.app_id
        ));
    }
    if !is_executor_id(&launch.executor_id) {
        return Err(format!(
            "executor_id: expected a decimal number (Spark parses executor ids), got '{}'",
            launch.executor_id
        ));
    }
    if !is_driver_url(&launch.driver_url) {
        return Err(format!(
            "driver_url: expected spark://CoarseGrainedScheduler@host:port, got '{}'",
            launch.driver_url
        ));
    }
    if launch.cores == 0 || launch.cores > capacity.free_cores {
        return Err(format!(
            "cores: expected 1 to {} (free on this worker), got {}",
            capacity.free_cores, launch.cores
        ));
    }
    if launch.memory_mb == 0 || launch.memory_mb > capacity.free_memory_mb {
        return Err(format!(
            "memory_mb: expected 1 to {} (free on this worker), got {}",
            capacity.free_memory_mb, launch.memory_mb
        ));
    }
    let Some(home) = homes.get(&launch.spark_version) else {
        let known: Vec<&str> = homes.keys().map(String::as_str).collect();
        return Err(format!(
            "spark_version: this worker has Spark {}, not '{}'",
            known.join(", "),
            launch.spark_version
        ));
    };
    Ok(ValidLaunch {
        app_id: launch.app_id.clone(),
        driver_url: launch.driver_url.clone(),
        executor_id: launch.executor_id.clone(),
        cores: launch.cores,
        memory_mb: launch.memory_mb,
        home: home.clone(),
    })
}

/// The executor's command: the backend class on the worker's Java with the home's jars, the
/// home's module options and the administrator's, heap = the launch's memory. It runs in
/// `dir`, in its own process group, with stdout and stderr in files there.
pub fn command(
    launch: &ValidLaunch,
    jvm: &Jvm,
    host: &str,
    worker_id: &str,
    dir: &Path,
) -> std::io::Result<Command> {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let stdout = std::fs::File::create(dir.join("stdout"))?;
    let stderr = std::fs::File::create(dir.join("stderr"))?;
    let home = &launch.home.path;
    let mut class_path = std::ffi::OsString::from(home.join("conf"));
    class_path.push(":");
    class_path.push(home.join("jars").join("*"));
    let mut command = Command::new(&jvm.java);
    command
        .arg("-cp")
        .arg(class_path)
        .arg(format!("-Xmx{}m", launch.memory_mb))
        .args(&launch.home.module_options)
        .args(&jvm.options)
        .arg(format!("-Djava.io.tmpdir={}", tmp.display()))
        .arg(EXECUTOR_CLASS)
        .args(["--driver-url", &launch.driver_url])
        .args(["--executor-id", &launch.executor_id])
        .args(["--hostname", host])
        .args(["--bind-address", host])
        .args(["--cores", &launch.cores.to_string()])
        .args(["--app-id", &launch.app_id])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // The worker's own Spark settings must not leak into the executor.
        .env_remove("SPARK_CONF_DIR")
        .env_remove("SPARK_LOCAL_HOSTNAME")
        .env("SPARK_LOCAL_IP", host)
        // PySpark workers find pyspark.zip through SPARK_HOME.
        .env("SPARK_HOME", home)
        .env("SPARK_LOCAL_DIRS", dir.join("local"))
        .env(POOL_ATTRIBUTE, POOL_EXTERNAL)
        .env(WORKER_ATTRIBUTE, worker_id);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let worker_pid = std::process::id();
    // An executor does not outlive its worker: nobody could stop it any more. (Spark re-runs
    // its tasks elsewhere, as for any lost executor.)
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() as u32 != worker_pid {
                // The worker died between fork and prctl.
                libc::_exit(1);
            }
            Ok(())
        });
    }
    Ok(command)
}

pub fn is_app_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && !value.starts_with(['.', '-'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

pub fn is_executor_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 18 && value.chars().all(|c| c.is_ascii_digit())
}

/// `spark://CoarseGrainedScheduler@host:port`.
pub fn is_driver_url(value: &str) -> bool {
    let Some(address) = value.strip_prefix("spark://CoarseGrainedScheduler@") else {
        return false;
    };
    driver_address(address).is_some()
}

/// The `host:port` of a driver URL, for the worker's check that the driver is still there.
pub fn driver_address(value: &str) -> Option<(String, u16)> {
    let address = value
        .strip_prefix("spark://CoarseGrainedScheduler@")
        .unwrap_or(value);
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
    is_host(host).then(|| (host.trim_matches(['[', ']']).to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn homes() -> BTreeMap<String, SparkHome> {
        BTreeMap::from([(
            "3.5".to_string(),
            SparkHome {
                version: "3.5".into(),
                path: "/opt/spark".into(),
                module_options: vec!["--add-opens=java.base/java.nio=ALL-UNNAMED".into()],
            },
        )])
    }

    fn launch() -> Launch {
        Launch {
            app_id: "app-20261202104012-0000".into(),
            driver_url: "spark://CoarseGrainedScheduler@127.0.0.1:40123".into(),
            executor_id: "1000000".into(),
            cores: 1,
            memory_mb: 512,
            spark_version: "3.5".into(),
        }
    }

    const ROOM: Capacity = Capacity {
        free_cores: 2,
        free_memory_mb: 2048,
    };

    #[test]
    fn a_good_launch_passes() {
        let valid = validate(&launch(), &homes(), &ROOM).unwrap();
        assert_eq!(valid.home.path, PathBuf::from("/opt/spark"));
    }

    #[test]
    fn every_field_is_checked_and_named() {
        type Change = fn(&mut Launch);
        let cases: Vec<(Change, &str)> = vec![
            (|l| l.app_id = "app; rm -rf /".into(), "app_id:"),
            (|l| l.app_id = "-rf".into(), "app_id:"),
            (|l| l.executor_id = "ext-1".into(), "executor_id:"),
            (|l| l.executor_id = "1 --class x".into(), "executor_id:"),
            (|l| l.driver_url = "spark://Other@h:1".into(), "driver_url:"),
            (
                |l| l.driver_url = "spark://CoarseGrainedScheduler@h:1 -Dx=y".into(),
                "driver_url:",
            ),
            (|l| l.cores = 0, "cores:"),
            (|l| l.cores = 3, "cores:"),
            (|l| l.memory_mb = 4096, "memory_mb:"),
            (|l| l.spark_version = "../../bin".into(), "spark_version:"),
            (|l| l.spark_version = "4.0".into(), "spark_version:"),
        ];
        for (change, field) in cases {
            let mut l = launch();
            change(&mut l);
            let e = validate(&l, &homes(), &ROOM).unwrap_err();
            assert!(e.starts_with(field), "{l:?}: {e}");
        }
    }

    #[test]
    fn versions_from_core_jar_names() {
        assert_eq!(
            core_jar_version("spark-core_2.12-3.5.9.jar").as_deref(),
            Some("3.5")
        );
        assert_eq!(
            core_jar_version("spark-core_2.13-4.0.0-preview2.jar").as_deref(),
            Some("4.0")
        );
        assert_eq!(core_jar_version("spark-sql_2.12-3.5.9.jar"), None);
        assert_eq!(core_jar_version("spark-core_2.12-x.jar"), None);
    }

    #[test]
    fn the_command_is_the_backend_class_with_the_workers_host() {
        let dir = std::env::temp_dir().join(format!("pacer-launch-{}", std::process::id()));
        let valid = validate(&launch(), &homes(), &ROOM).unwrap();
        let jvm = Jvm {
            java: "/usr/bin/java".into(),
            options: vec!["-XX:+UseG1GC".into()],
        };
        let command = command(&valid, &jvm, "127.0.0.2", "w1", &dir).unwrap();
        assert_eq!(command.get_program(), "/usr/bin/java");
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..6],
            [
                "-cp",
                "/opt/spark/conf:/opt/spark/jars/*",
                "-Xmx512m",
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-XX:+UseG1GC",
                &format!("-Djava.io.tmpdir={}/tmp", dir.display()),
            ]
        );
        assert_eq!(args[6], EXECUTOR_CLASS);
        assert!(args.windows(2).any(|w| w == ["--hostname", "127.0.0.2"]));
        assert!(args.windows(2).any(|w| w == ["--executor-id", "1000000"]));
        let env: BTreeMap<_, _> = command
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_string_lossy().into_owned(),
                    v?.to_string_lossy().into_owned(),
                ))
            })
            .collect();
        assert_eq!(env[POOL_ATTRIBUTE], "external");
        assert_eq!(env["SPARK_HOME"], "/opt/spark");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn driver_addresses() {
        assert_eq!(
            driver_address("spark://CoarseGrainedScheduler@127.0.0.1:7078"),
            Some(("127.0.0.1".to_string(), 7078))
        );
        assert_eq!(driver_address("spark://CoarseGrainedScheduler@h:0"), None);
    }
}
