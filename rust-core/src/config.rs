//! Pacer's configuration, read from the original listener's keys
//! (`spark.customExtraListener.*`) and a few Spark keys.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use pacer_protocol::{memory_mib, Codec, EnvironmentSpecs, ResourceSpecs};

use crate::pool::settings::{self as pool_settings, PoolSettings};

pub const PREFIX: &str = "spark.customExtraListener.";

/// Facts about the running JVM that the host may supply under this prefix
/// (e.g. `pacer.runtime.sparkVersion`); they fill `env.*` keys the user did not set.
pub const RUNTIME_PREFIX: &str = "pacer.runtime.";

const DEFAULT_RESPONSE_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_EXECUTOR_REQUEST_TIMEOUT_MS: u64 = 15_000;
const DEFAULT_QUEUE_CAPACITY: usize = 1_000;
const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 2_000;
const UNKNOWN: &str = "unknown";

/// Keys under [`PREFIX`] that Pacer understands; anything else under the prefix is reported
/// as unknown so that typos do not go unnoticed.
pub const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "isAdaptive",
    "isTraining",
    "bridgeServiceAddress",
    "minExecutors",
    "maxExecutors",
    "targetRuntime",
    "datasizeMb",
    "env.machineType",
    "env.hadoopVersion",
    "env.sparkVersion",
    "env.scalaVersion",
    "env.javaVersion",
    "responseTimeoutMs",
    "executorRequestTimeoutMs",
    "codec",
    "queueCapacity",
    "shutdownTimeoutMs",
    "logLevel",
    "testing.panicOnJobStart",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `enabled=false` turns Pacer off without removing the listener.
    pub enabled: bool,
    pub bridge_address: String,
    pub is_adaptive: bool,
    pub is_training: bool,
    pub min_executors: u32,
    pub max_executors: u32,
    /// Milliseconds; 0 when the run has no target (non-adaptive runs).
    pub target_runtime_ms: i64,
    pub datasize_mb: i64,
    pub driver: ResourceSpecs,
    pub executor: ResourceSpecs,
    pub environment: EnvironmentSpecs,
    pub response_timeout: Duration,
    pub executor_request_timeout: Duration,
    pub codec: Codec,
    pub queue_capacity: usize,
    pub shutdown_timeout: Duration,
    pub log_level: log::LevelFilter,
    /// `spark.dynamicAllocation.enabled`: Spark's own allocation manager is active.
    pub dynamic_allocation: bool,
    /// `spark.executor.instances`, when set: the scale-out Spark starts with.
    pub initial_executors: Option<u32>,
    /// Where executors come from: the cluster manager, the external pool, or both.
    pub pool: PoolSettings,
    /// Keys under the prefix that Pacer does not know (reported once at start).
    pub unknown_keys: Vec<String>,
    /// Test only (`testing.panicOnJobStart`): the core panics in every job start, to exercise
    /// the path from a native panic to a disabled listener.
    pub testing_panic_on_job_start: bool,
}

/// A configuration value Pacer cannot use, naming the key and the expected form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub expected: String,
    pub found: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(v) => write!(f, "{}: expected {}, got '{}'", self.key, self.expected, v),
            None => write!(f, "{}: missing; expected {}", self.key, self.expected),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the configuration from key/value pairs (typically all of SparkConf) and the
    /// process environment (`LISTENER_RESPONSE_TIMEOUT`, `EXECUTOR_REQUEST_TIMEOUT`).
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Config::from_pairs_and_env(pairs, |name| std::env::var(name).ok())
    }

    /// Like [`Config::from_pairs`] with an explicit environment lookup (for tests and embedders).
    pub fn from_pairs_and_env<I, K, V>(
        pairs: I,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let settings = Settings {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into().trim().to_string()))
                .collect(),
        };
        settings.build(&env)
    }
}

struct Settings {
    values: HashMap<String, String>,
}

impl Settings {
    fn build(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let enabled = self.bool_or(&own("enabled"), true)?;
        let is_adaptive = self.bool_or(&own("isAdaptive"), true)?;
        let is_training = self.bool_or(&own("isTraining"), false)?;

        let bridge_address = self.required(&own("bridgeServiceAddress"), ENDPOINT_FORM)?;
        if !is_endpoint(&bridge_address) {
            return Err(invalid(
                &own("bridgeServiceAddress"),
                ENDPOINT_FORM,
                &bridge_address,
            ));
        }

        let min_key = own("minExecutors");
        let max_key = own("maxExecutors");
        let min_executors: u32 = self.parse_required(&min_key, "a non-negative integer")?;
        let max_executors: u32 = self.parse_required(&max_key, "a positive integer")?;
        if max_executors == 0 {
            return Err(invalid(&max_key, "a positive integer", "0"));
        }
        if min_executors > max_executors {
            return Err(invalid(
                &min_key,
                &format!("a value not above {max_key} ({max_executors})"),
                &min_executors.to_string(),
            ));
        }

        let target_key = own("targetRuntime");
        let target_runtime_ms: i64 = if is_adaptive {
            let v: i64 =
                self.parse_required(&target_key, "a positive runtime target in milliseconds")?;
            if v <= 0 {
                return Err(invalid(
                    &target_key,
                    "a positive runtime target in milliseconds",
                    &v.to_string(),
                ));
            }
            v
        } else {
            self.parse_or(&target_key, "a runtime target in milliseconds", 0)?
        };

        let response_timeout = self.duration_ms(
            &own("responseTimeoutMs"),
            "LISTENER_RESPONSE_TIMEOUT",
            DEFAULT_RESPONSE_TIMEOUT_MS,
            env,
        )?;
        let executor_request_timeout = self.duration_ms(
            &own("executorRequestTimeoutMs"),
            "EXECUTOR_REQUEST_TIMEOUT",
            DEFAULT_EXECUTOR_REQUEST_TIMEOUT_MS,
            env,
        )?;

        let codec_key = own("codec");
        let codec = match self.values.get(&codec_key) {
            None => Codec::Json,
            Some(v) => v
                .parse()
                .map_err(|_| invalid(&codec_key, "'json' or 'msgpack'", v))?,
        };
        let queue_capacity: usize = self.parse_or(
            &own("queueCapacity"),
            "a positive integer",
            DEFAULT_QUEUE_CAPACITY,
        )?;
        if queue_capacity == 0 {
            return Err(invalid(&own("queueCapacity"), "a positive integer", "0"));
        }
        let shutdown_timeout = Duration::from_millis(self.parse_or(
            &own("shutdownTimeoutMs"),
            "a duration in milliseconds",
            DEFAULT_SHUTDOWN_TIMEOUT_MS,
        )?);
        let log_key = own("logLevel");
        let log_level = match self.values.get(&log_key) {
            None => log::LevelFilter::Info,
            Some(v) => v
                .parse()
                .map_err(|_| invalid(&log_key, "one of off, error, warn, info, debug, trace", v))?,
        };

        let environment = self.environment_specs();
        let pool = PoolSettings::read(&self.values, env, &environment.spark_version)?;
        Ok(Config {
            enabled,
            bridge_address,
            is_adaptive,
            is_training,
            min_executors,
            max_executors,
            target_runtime_ms,
            datasize_mb: self.datasize_mb()?,
            driver: self.resource_specs("driver")?,
            executor: self.resource_specs("executor")?,
            environment,
            response_timeout,
            executor_request_timeout,
            codec,
            queue_capacity,
            shutdown_timeout,
            log_level,
            dynamic_allocation: self.bool_or("spark.dynamicAllocation.enabled", false)?,
            initial_executors: self
                .parse_optional("spark.executor.instances", "a non-negative integer")?,
            pool,
            unknown_keys: self.unknown_keys(),
            testing_panic_on_job_start: self.bool_or(&own("testing.panicOnJobStart"), false)?,
        })
    }

    /// `datasizeMb` as the original listener reads it: any number of MB (a double), at least 1
    /// on the wire. The wire field is an integer here, so a fraction is rounded up.
    fn datasize_mb(&self) -> Result<i64, ConfigError> {
        let key = own("datasizeMb");
        let mb: f64 = self.parse_or(&key, "a number of MB", 1.0)?;
        if !mb.is_finite() {
            return Err(invalid(&key, "a number of MB", &mb.to_string()));
        }
        Ok(mb.max(1.0).ceil() as i64)
    }

    fn resource_specs(&self, role: &str) -> Result<ResourceSpecs, ConfigError> {
        let cores_key = format!("spark.{role}.cores");
        let memory_key = format!("spark.{role}.memory");
        let overhead_key = format!("spark.{role}.memoryOverhead");
        let cores: i64 = self.parse_or(&cores_key, "a positive integer", 1)?;
        let memory = self
            .values
            .get(&memory_key)
            .cloned()
            .unwrap_or_else(|| "1g".into());
        let memory_in_mib =
            memory_mib(&memory).ok_or_else(|| invalid(&memory_key, MEMORY_FORM, &memory))?;
        let memory_overhead = match self.values.get(&overhead_key) {
            Some(v) => {
                memory_mib(v).ok_or_else(|| invalid(&overhead_key, MEMORY_FORM, v))?;
                v.clone()
            }
            // As the original listener writes it: a tenth of the memory in MiB, as a decimal.
            None => decimal_mib(memory_in_mib as f64 / 10.0),
        };
        Ok(ResourceSpecs {
            cores,
            memory,
            memory_overhead,
        })
    }

    fn environment_specs(&self) -> EnvironmentSpecs {
        let pick = |name: &str| {
            self.values
                .get(&own(&format!("env.{name}")))
                .or_else(|| self.values.get(&format!("{RUNTIME_PREFIX}{name}")))
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| UNKNOWN.to_string())
        };
        EnvironmentSpecs {
            machine_type: pick("machineType"),
            hadoop_version: pick("hadoopVersion"),
            spark_version: pick("sparkVersion"),
            scala_version: pick("scalaVersion"),
            java_version: pick("javaVersion"),
        }
    }

    fn unknown_keys(&self) -> Vec<String> {
        let mut unknown: Vec<String> = self
            .values
            .keys()
            .filter_map(|k| k.strip_prefix(PREFIX).map(|rest| (k, rest)))
            .filter(|(_, rest)| {
                !KNOWN_KEYS.contains(rest)
                    && !pool_settings::DRIVER_KEYS.contains(rest)
                    && !pool_settings::OWN_KEYS.contains(rest)
            })
            .map(|(k, _)| k.clone())
            .collect();
        unknown.sort();
        unknown
    }

    /// Config key first, then the environment variable, then the default.
    fn duration_ms(
        &self,
        key: &str,
        env_name: &str,
        default_ms: u64,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Duration, ConfigError> {
        const FORM: &str = "a positive duration in milliseconds";
        let (name, raw) = match (self.values.get(key), env(env_name)) {
            (Some(v), _) => (key.to_string(), v.clone()),
            (None, Some(v)) => (
                format!("environment variable {env_name}"),
                v.trim().to_string(),
            ),
            (None, None) => return Ok(Duration::from_millis(default_ms)),
        };
        match raw.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(invalid(&name, FORM, &raw)),
        }
    }

    fn required(&self, key: &str, expected: &str) -> Result<String, ConfigError> {
        match self.values.get(key) {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(ConfigError {
                key: key.to_string(),
                expected: expected.to_string(),
                found: None,
            }),
        }
    }

    fn parse_required<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let raw = self.required(key, expected)?;
        raw.parse().map_err(|_| invalid(key, expected, &raw))
    }

    fn parse_optional<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| invalid(key, expected, raw)),
        }
    }

    fn parse_or<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        Ok(self.parse_optional(key, expected)?.unwrap_or(default))
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.values.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(invalid(key, "true or false", &v)),
        }
    }
}

const ENDPOINT_FORM: &str = "a ZeroMQ endpoint such as tcp://host:5555";
const MEMORY_FORM: &str = "a JVM memory size such as 512m or 8g";

fn own(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// `51.2m`, `300.0m`: MiB written as a Java double is (the original listener's form).
fn decimal_mib(mib: f64) -> String {
    if mib.fract() == 0.0 {
        format!("{mib:.1}m")
    } else {
        format!("{mib}m")
    }
}

fn invalid(key: &str, expected: &str, found: &str) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        expected: expected.to_string(),
        found: Some(found.to_string()),
    }
}

fn is_endpoint(address: &str) -> bool {
    match address.split_once("://") {
        Some((transport, rest)) => {
            matches!(
                transport,
                "tcp" | "ipc" | "inproc" | "pgm" | "epgm" | "ws" | "wss"
            ) && !rest.is_empty()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(String, String)> {
        [
            ("bridgeServiceAddress", "tcp://127.0.0.1:5555"),
            ("minExecutors", "2"),
            ("maxExecutors", "8"),
            ("targetRuntime", "840000"),
        ]
        .into_iter()
        .map(|(k, v)| (own(k), v.to_string()))
        .collect()
    }

    fn with(mut pairs: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key.to_string(), value.to_string()));
        pairs
    }

    fn without(mut pairs: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != key);
        pairs
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(pairs: Vec<(String, String)>) -> Result<Config, ConfigError> {
        Config::from_pairs_and_env(pairs, no_env)
    }

    #[test]
    fn minimal_configuration_gets_defaults() {
        let c = parse(base()).unwrap();
        assert!(c.enabled && c.is_adaptive && !c.is_training);
        assert_eq!(
            (c.min_executors, c.max_executors, c.target_runtime_ms),
            (2, 8, 840_000)
        );
        assert_eq!(c.response_timeout, Duration::from_secs(30));
        assert_eq!(c.executor_request_timeout, Duration::from_secs(15));
        assert_eq!(c.codec, Codec::Json);
        assert_eq!(c.datasize_mb, 1);
        assert_eq!(c.driver.cores, 1);
        assert_eq!(c.executor.memory, "1g");
        assert_eq!(c.executor.memory_overhead, "102.4m");
        assert_eq!(c.environment.spark_version, "unknown");
        assert!(!c.dynamic_allocation);
        assert_eq!(c.initial_executors, None);
    }

    #[test]
    fn datasize_is_a_number_of_mb_of_at_least_one() {
        let key = "spark.customExtraListener.datasizeMb";
        assert_eq!(parse(with(base(), key, "1.5")).unwrap().datasize_mb, 2);
        assert_eq!(parse(with(base(), key, "0")).unwrap().datasize_mb, 1);
        assert_eq!(parse(with(base(), key, "2048")).unwrap().datasize_mb, 2048);
        let err = parse(with(base(), key, "lots")).unwrap_err().to_string();
        assert!(err.contains("datasizeMb"), "{err}");
    }

    #[test]
    fn memory_overhead_defaults_to_ten_percent() {
        let c = parse(with(base(), "spark.executor.memory", "8g")).unwrap();
        assert_eq!(c.executor.memory_overhead, "819.2m");
        let c = parse(with(base(), "spark.executor.memory", "512m")).unwrap();
        assert_eq!(c.executor.memory_overhead, "51.2m");
        let c = parse(with(base(), "spark.executor.memory", "3000m")).unwrap();
        assert_eq!(c.executor.memory_overhead, "300.0m");
        let c = parse(with(base(), "spark.driver.memoryOverhead", "1g")).unwrap();
        assert_eq!(c.driver.memory_overhead, "1g");
    }

    #[test]
    fn environment_prefers_user_keys_over_runtime_facts() {
        let pairs = with(base(), "pacer.runtime.sparkVersion", "3.5.1");
        let pairs = with(pairs, "pacer.runtime.javaVersion", "17");
        let pairs = with(pairs, &own("env.javaVersion"), "11");
        let c = parse(pairs).unwrap();
        assert_eq!(c.environment.spark_version, "3.5.1");
        assert_eq!(c.environment.java_version, "11");
    }

    #[test]
    fn missing_required_keys_are_named() {
        for key in [
            "bridgeServiceAddress",
            "minExecutors",
            "maxExecutors",
            "targetRuntime",
        ] {
            let err = parse(without(base(), &own(key))).unwrap_err();
            assert_eq!(err.key, own(key));
            assert!(err.to_string().contains("missing"), "{err}");
        }
    }

    #[test]
    fn target_is_optional_for_profiling_runs() {
        let pairs = with(
            without(base(), &own("targetRuntime")),
            &own("isAdaptive"),
            "false",
        );
        let c = parse(pairs).unwrap();
        assert_eq!(c.target_runtime_ms, 0);
        assert!(!c.is_adaptive);
    }

    #[test]
    fn bad_values_name_key_and_form() {
        let cases = [
            ("minExecutors", "two", "non-negative integer"),
            ("maxExecutors", "0", "positive integer"),
            ("targetRuntime", "-5", "positive runtime target"),
            ("isAdaptive", "yes", "true or false"),
            ("bridgeServiceAddress", "localhost:5555", "ZeroMQ endpoint"),
            ("responseTimeoutMs", "0", "positive duration"),
            ("codec", "xml", "'json' or 'msgpack'"),
            ("queueCapacity", "0", "positive integer"),
            ("logLevel", "loud", "one of off"),
        ];
        for (key, value, expected) in cases {
            let err = parse(with(base(), &own(key), value)).unwrap_err();
            assert_eq!(err.key, own(key), "{err}");
            let text = err.to_string();
            assert!(text.contains(expected) && text.contains(value), "{text}");
        }
        let err = parse(with(base(), "spark.executor.memory", "lots")).unwrap_err();
        assert_eq!(err.key, "spark.executor.memory");
    }

    #[test]
    fn min_above_max_is_rejected() {
        let err = parse(with(base(), &own("minExecutors"), "9")).unwrap_err();
        assert_eq!(err.key, own("minExecutors"));
        assert!(err.to_string().contains("maxExecutors"), "{err}");
    }

    #[test]
    fn timeouts_come_from_key_then_environment_then_default() {
        let env = |name: &str| match name {
            "LISTENER_RESPONSE_TIMEOUT" => Some("1500".to_string()),
            "EXECUTOR_REQUEST_TIMEOUT" => Some("250".to_string()),
            _ => None,
        };
        let c = Config::from_pairs_and_env(base(), env).unwrap();
        assert_eq!(c.response_timeout, Duration::from_millis(1500));
        assert_eq!(c.executor_request_timeout, Duration::from_millis(250));
        let c = Config::from_pairs_and_env(with(base(), &own("responseTimeoutMs"), "700"), env)
            .unwrap();
        assert_eq!(c.response_timeout, Duration::from_millis(700));

        let bad_env = |_: &str| Some("soon".to_string());
        let err = Config::from_pairs_and_env(base(), bad_env).unwrap_err();
        assert!(err.key.contains("LISTENER_RESPONSE_TIMEOUT"), "{err}");
    }

    #[test]
    fn unknown_keys_under_the_prefix_are_reported() {
        let pairs = with(base(), &own("maxExecutor"), "3");
        let pairs = with(pairs, "spark.other.key", "x");
        let c = parse(pairs).unwrap();
        assert_eq!(c.unknown_keys, vec![own("maxExecutor")]);
    }

    #[test]
    fn spark_keys_are_read() {
        let pairs = with(base(), "spark.dynamicAllocation.enabled", "true");
        let pairs = with(pairs, "spark.executor.instances", "4");
        let c = parse(pairs).unwrap();
        assert!(c.dynamic_allocation);
        assert_eq!(c.initial_executors, Some(4));
    }
}
