//! The driver's settings for the external pool: `reschedule.dst.executor` and the registry or
//! dispatcher to use, from `common.properties` (`$EXTERNAL_SPARK_CONF_DIR`, default
//! `$EXTERNAL_SPARK_HOME/conf`) overridden key by key by Spark conf
//! (`spark.customExtraListener.<key>`).

use std::collections::HashMap;
use std::time::Duration;

use pacer_protocol::memory_mib;
use pacer_proxy::conf::{ConfError, Destination, Properties, RedisSettings};

use crate::config::{ConfigError, PREFIX};

/// The `common.properties` keys a driver reads (as Spark conf under the listener's prefix).
pub const DRIVER_KEYS: &[&str] = &[
    "reschedule.dst.executor",
    "redis.host",
    "redis.port",
    "redis.password",
    "dispatcher.address",
];
/// Pacer's own driver-side keys of the pool (Spark conf only).
pub const OWN_KEYS: &[&str] = &["external.launchTimeoutMs", "burst.internalExecutors"];

const DEFAULT_LAUNCH_TIMEOUT_MS: u64 = 120_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSettings {
    pub destination: Destination,
    pub dispatcher_address: Option<String>,
    pub redis: Option<RedisSettings>,
    /// `burst`: executors the cluster manager can give (`burst.internalExecutors`, else
    /// `spark.cores.max` / `spark.executor.cores`).
    pub internal_capacity: Option<u32>,
    /// A placed executor that has not registered after this long is given up and stopped.
    pub launch_timeout: Duration,
    /// `spark://CoarseGrainedScheduler@<spark.driver.host>:<spark.driver.port>`.
    pub driver_url: Option<String>,
    /// `major.minor` of the driver's Spark.
    pub spark_version: String,
    pub executor_cores: u32,
    pub executor_memory_mb: u64,
}

impl PoolSettings {
    pub fn internal() -> PoolSettings {
        PoolSettings {
            destination: Destination::Internal,
            dispatcher_address: None,
            redis: None,
            internal_capacity: None,
            launch_timeout: Duration::from_millis(DEFAULT_LAUNCH_TIMEOUT_MS),
            driver_url: None,
            spark_version: String::new(),
            executor_cores: 1,
            executor_memory_mb: 1024,
        }
    }

    pub fn is_external(&self) -> bool {
        self.destination != Destination::Internal
    }

    /// `values`: all Spark conf pairs; `spark_version`: the runtime's.
    pub fn read(
        values: &HashMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
        spark_version: &str,
    ) -> Result<PoolSettings, ConfigError> {
        let mut properties = Properties::from_environment(env).map_err(from_file)?;
        for key in DRIVER_KEYS {
            if let Some(value) = values.get(&format!("{PREFIX}{key}")) {
                properties.set(key, value.as_str(), SPARK_CONF);
            }
        }
        let destination = properties.destination().map_err(from_file)?;
        if destination == Destination::Internal {
            return Ok(PoolSettings::internal());
        }
        let redis = properties.redis().map_err(from_file)?;
        let dispatcher_address = properties
            .endpoint("dispatcher.address")
            .map_err(from_file)?;
        if redis.is_none() && dispatcher_address.is_none() {
            return Err(ConfigError {
                key: format!("{PREFIX}redis.host"),
                expected: format!(
                    "the registry's host (or {PREFIX}dispatcher.address) for \
                     reschedule.dst.executor={}",
                    destination.name()
                ),
                found: None,
            });
        }
        let number = |key: &str| -> Result<Option<u64>, ConfigError> {
            match values.get(key) {
                None => Ok(None),
                Some(v) => v.parse::<u64>().map(Some).map_err(|_| ConfigError {
                    key: key.to_string(),
                    expected: "a non-negative integer".into(),
                    found: Some(v.clone()),
                }),
            }
        };
        let executor_cores = number("spark.executor.cores")?.unwrap_or(1).max(1) as u32;
        let internal_capacity = match number(&format!("{PREFIX}burst.internalExecutors"))? {
            Some(n) => Some(n as u32),
            None => {
                number("spark.cores.max")?.map(|cores| (cores / u64::from(executor_cores)) as u32)
            }
        };
        if destination == Destination::Burst && internal_capacity.is_none() {
            return Err(ConfigError {
                key: format!("{PREFIX}burst.internalExecutors"),
                expected: "the number of executors the cluster manager can give (or set \
                           spark.cores.max) for reschedule.dst.executor=burst"
                    .into(),
                found: None,
            });
        }
        let launch_timeout_key = format!("{PREFIX}external.launchTimeoutMs");
        let launch_timeout = match number(&launch_timeout_key)? {
            Some(0) => {
                return Err(ConfigError {
                    key: launch_timeout_key,
                    expected: "a positive duration in milliseconds".into(),
                    found: Some("0".into()),
                })
            }
            Some(ms) => Duration::from_millis(ms),
            None => Duration::from_millis(DEFAULT_LAUNCH_TIMEOUT_MS),
        };
        let memory = values
            .get("spark.executor.memory")
            .map_or("1g", String::as_str);
        let driver_url = match (
            values.get("spark.driver.host"),
            values.get("spark.driver.port"),
        ) {
            (Some(host), Some(port)) if port != "0" => {
                Some(format!("spark://CoarseGrainedScheduler@{host}:{port}"))
            }
            _ => None,
        };
        Ok(PoolSettings {
            destination,
            dispatcher_address,
            redis,
            internal_capacity,
            launch_timeout,
            driver_url,
            spark_version: major_minor(spark_version),
            executor_cores,
            executor_memory_mb: memory_mib(memory).unwrap_or(1024).max(1),
        })
    }
}

const SPARK_CONF: &str = "Spark conf";

/// A `common.properties` problem as the listener's error: the key as the user set it.
fn from_file(e: ConfError) -> ConfigError {
    let key = if e.origin == SPARK_CONF {
        format!("{PREFIX}{}", e.key)
    } else {
        format!("{} (in {})", e.key, e.origin)
    };
    ConfigError {
        key,
        expected: e.expected,
        found: e.found,
    }
}

/// `3.5.9` → `3.5`.
fn major_minor(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => version.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)], env: &[(&str, String)]) -> Result<PoolSettings, ConfigError> {
        let values = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        PoolSettings::read(&values, &|name| env.get(name).cloned(), "3.5.9")
    }

    #[test]
    fn internal_by_default_and_nothing_else_is_read() {
        let s = read(&[("spark.customExtraListener.redis.port", "bad")], &[]).unwrap();
        assert_eq!(s, PoolSettings::internal());
    }

    #[test]
    fn burst_from_spark_conf() {
        let s = read(
            &[
                ("spark.customExtraListener.reschedule.dst.executor", "burst"),
                ("spark.customExtraListener.redis.host", "127.0.0.1"),
                ("spark.customExtraListener.redis.port", "6380"),
                ("spark.cores.max", "4"),
                ("spark.executor.cores", "2"),
                ("spark.executor.memory", "2g"),
                ("spark.driver.host", "10.0.0.1"),
                ("spark.driver.port", "40000"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.destination, Destination::Burst);
        assert_eq!(s.internal_capacity, Some(2));
        assert_eq!(s.redis.unwrap().port, 6380);
        assert_eq!(
            s.driver_url.as_deref(),
            Some("spark://CoarseGrainedScheduler@10.0.0.1:40000")
        );
        assert_eq!(
            (
                s.spark_version.as_str(),
                s.executor_cores,
                s.executor_memory_mb
            ),
            ("3.5", 2, 2048)
        );
    }

    #[test]
    fn common_properties_with_spark_conf_winning() {
        let dir = std::env::temp_dir().join(format!("pacer-pool-conf-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(
            dir.join("conf").join("common.properties"),
            "reschedule.dst.executor=external\nredis.host=registry\nredis.password=pw\n",
        )
        .unwrap();
        let env = [("EXTERNAL_SPARK_HOME", dir.display().to_string())];
        let s = read(&[], &env).unwrap();
        assert_eq!(s.destination, Destination::External);
        assert_eq!(s.redis.as_ref().unwrap().password.as_deref(), Some("pw"));
        let s = read(
            &[(
                "spark.customExtraListener.reschedule.dst.executor",
                "internal",
            )],
            &env,
        )
        .unwrap();
        assert_eq!(s.destination, Destination::Internal);
        std::fs::write(
            dir.join("conf").join("common.properties"),
            "reschedule.dst.executor=elsewhere\n",
        )
        .unwrap();
        let e = read(&[], &env).unwrap_err();
        assert!(e.key.starts_with("reschedule.dst.executor (in "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_missing_key() {
        let e = read(
            &[(
                "spark.customExtraListener.reschedule.dst.executor",
                "external",
            )],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "spark.customExtraListener.redis.host");
        let e = read(
            &[
                ("spark.customExtraListener.reschedule.dst.executor", "burst"),
                (
                    "spark.customExtraListener.dispatcher.address",
                    "tcp://d:16161",
                ),
            ],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "spark.customExtraListener.burst.internalExecutors");
        let e = read(
            &[
                (
                    "spark.customExtraListener.reschedule.dst.executor",
                    "external",
                ),
                ("spark.customExtraListener.dispatcher.address", "d:16161"),
            ],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "spark.customExtraListener.dispatcher.address");
    }
}
