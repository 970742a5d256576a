//! The external-executor configuration: Spark-Proxy's `common.properties` (read from
//! `$EXTERNAL_SPARK_CONF_DIR`, default `$EXTERNAL_SPARK_HOME/conf`) with its keys and Pacer's,
//! overridable key by key (by Spark conf on the driver, by flags on the daemons). Errors name
//! the key, where its value came from and the expected form.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub const FILE_NAME: &str = "common.properties";

/// Every key Pacer reads from `common.properties`, with its default and what it means: the
/// one definition behind the unknown-key warning and the table in docs/EXTERNAL.md.
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "reschedule.dst.executor",
        "internal",
        "where executors come from: internal (the cluster manager), external (the pool), burst (internal up to the cluster manager's capacity, the rest external)",
    ),
    ("redis.host", "(none)", "Redis host of the registry"),
    ("redis.port", "6379", "Redis port of the registry"),
    ("redis.password", "(none)", "Redis password (AUTH)"),
    (
        "host.selector",
        "RANDOM",
        "how the dispatcher picks a worker: RANDOM, ROUND_ROBIN, LEAST_LOADED, PACK",
    ),
    ("host.selector.seed", "0", "seed of the RANDOM selector"),
    ("dispatcher.host", "127.0.0.1", "address the dispatcher binds and registers"),
    ("dispatcher.port", "16161", "port of the dispatcher's socket"),
    (
        "dispatcher.address",
        "(none)",
        "the dispatcher's endpoint (tcp://host:port) for drivers, instead of finding it in Redis",
    ),
    (
        "registry.ttl.ms",
        "10000",
        "lifetime of every registry entry; refreshed every third of it",
    ),
    (
        "executor.id.start",
        "1000000",
        "first external executor id of an application (cluster managers count from 0)",
    ),
    ("worker.host", "127.0.0.1", "address the worker binds, registers and gives its executors"),
    ("worker.port", "16162", "port of the worker's socket"),
    ("worker.id", "host:port", "the worker's name in the registry"),
    ("worker.cores", "all CPUs", "cores the worker offers"),
    ("worker.memory", "RAM − 1g", "memory the worker offers (Spark's form: 512m, 4g)"),
    (
        "worker.spark.homes",
        "$SPARK_HOME",
        "Spark homes the worker may start executors from, comma-separated; a home's version is read from its jars",
    ),
    (
        "worker.work.dir",
        "$EXTERNAL_SPARK_HOME/work, else the temp folder",
        "where executors run and write their logs",
    ),
    (
        "worker.java",
        "$JAVA_HOME/bin/java, else java",
        "the Java executors run on",
    ),
    (
        "worker.java.options",
        "(none)",
        "JVM options of every executor, added to the module options of its Spark version",
    ),
    (
        "worker.stop.grace.ms",
        "5000",
        "time between SIGTERM and SIGKILL when an executor is stopped",
    ),
];

/// `reschedule.dst.executor`: where a Spark application's executors come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The cluster manager only (Pacer's behaviour without the pool).
    Internal,
    /// The pool only.
    External,
    /// The cluster manager up to its capacity, the pool beyond it; scale-down releases
    /// external executors first.
    Burst,
}

impl Destination {
    pub fn name(self) -> &'static str {
        match self {
            Destination::Internal => "internal",
            Destination::External => "external",
            Destination::Burst => "burst",
        }
    }
}

impl FromStr for Destination {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "internal" => Ok(Destination::Internal),
            "external" => Ok(Destination::External),
            "burst" => Ok(Destination::Burst),
            _ => Err(()),
        }
    }
}

/// `host.selector`: how the dispatcher picks the worker of each placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorKind {
    Random,
    RoundRobin,
    LeastLoaded,
    Pack,
}

impl SelectorKind {
    pub fn name(self) -> &'static str {
        match self {
            SelectorKind::Random => "RANDOM",
            SelectorKind::RoundRobin => "ROUND_ROBIN",
            SelectorKind::LeastLoaded => "LEAST_LOADED",
            SelectorKind::Pack => "PACK",
        }
    }
}

impl FromStr for SelectorKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "RANDOM" => Ok(SelectorKind::Random),
            "ROUND_ROBIN" => Ok(SelectorKind::RoundRobin),
            "LEAST_LOADED" => Ok(SelectorKind::LeastLoaded),
            "PACK" => Ok(SelectorKind::Pack),
            _ => Err(()),
        }
    }
}

/// Where the registry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub password: Option<String>,
}

impl fmt::Display for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}:{}", self.host, self.port)
    }
}

/// A value that cannot be used, naming the key, its origin and the expected form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub key: String,
    /// Where the value came from: a file's path, "Spark conf", "command line".
    pub origin: String,
    pub expected: String,
    pub found: Option<String>,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(v) => write!(
                f,
                "{} (from {}): expected {}, got '{}'",
                self.key, self.origin, self.expected, v
            ),
            None => write!(
                f,
                "{} (from {}): missing; expected {}",
                self.key, self.origin, self.expected
            ),
        }
    }
}

impl std::error::Error for ConfError {}

/// Key/value pairs with the origin of each value; later layers override earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    values: BTreeMap<String, (String, String)>,
}

impl Properties {
    /// The folder `common.properties` is read from: `$EXTERNAL_SPARK_CONF_DIR`, else
    /// `$EXTERNAL_SPARK_HOME/conf`; None when neither is set.
    pub fn conf_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        set("EXTERNAL_SPARK_CONF_DIR")
            .map(PathBuf::from)
            .or_else(|| set("EXTERNAL_SPARK_HOME").map(|home| Path::new(&home).join("conf")))
    }

    /// `common.properties` of the configuration folder the environment names; empty when
    /// there is no folder or no file in it.
    pub fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> Result<Properties, ConfError> {
        match Properties::conf_dir(env) {
            Some(dir) => Properties::from_file_if_present(&dir.join(FILE_NAME)),
            None => Ok(Properties::default()),
        }
    }

    /// A properties file in Java's format; empty when it does not exist.
    pub fn from_file_if_present(path: &Path) -> Result<Properties, ConfError> {
        let origin = path.display().to_string();
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Properties::default()),
            Err(e) => {
                return Err(ConfError {
                    key: FILE_NAME.into(),
                    origin,
                    expected: "a readable file".into(),
                    found: Some(e.to_string()),
                })
            }
        };
        let values =
            java_properties::read(std::io::BufReader::new(file)).map_err(|e| ConfError {
                key: FILE_NAME.into(),
                origin: origin.clone(),
                expected: "a Java properties file (key=value lines)".into(),
                found: Some(e.to_string()),
            })?;
        let mut properties = Properties::default();
        properties.extend(values, &origin);
        Ok(properties)
    }

    /// Sets every pair, as coming from `origin`; values are trimmed.
    pub fn extend<I, K, V>(&mut self, pairs: I, origin: &str)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (key, value) in pairs {
            let value = value.into().trim().to_string();
            self.values.insert(key.into(), (value, origin.to_string()));
        }
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>, origin: &str) {
        self.extend([(key, value.into())], origin);
    }

    /// The value of `key`; an empty value counts as unset (the seed's file has `redis.host=`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn origin(&self, key: &str) -> String {
        self.values
            .get(key)
            .map_or_else(|| "defaults".to_string(), |(_, o)| o.clone())
    }

    /// Keys set that Pacer does not know.
    pub fn unknown_keys(&self) -> Vec<String> {
        self.values
            .keys()
            .filter(|k| !KEYS.iter().any(|(known, _, _)| known == k))
            .cloned()
            .collect()
    }

    pub fn error(&self, key: &str, expected: &str) -> ConfError {
        ConfError {
            key: key.to_string(),
            origin: self.origin(key),
            expected: expected.to_string(),
            found: self.get(key).map(str::to_string),
        }
    }

    /// `key` parsed, `default` when unset.
    pub fn parse_or<T: FromStr>(
        &self,
        key: &str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| self.error(key, expected)),
        }
    }

    pub fn destination(&self) -> Result<Destination, ConfError> {
        self.parse_or(
            "reschedule.dst.executor",
            Destination::Internal,
            "internal, external or burst",
        )
    }

    pub fn selector(&self) -> Result<SelectorKind, ConfError> {
        self.parse_or(
            "host.selector",
            SelectorKind::Random,
            "RANDOM, ROUND_ROBIN, LEAST_LOADED or PACK",
        )
    }

    /// The registry, when `redis.host` is set.
    pub fn redis(&self) -> Result<Option<RedisSettings>, ConfError> {
        let Some(host) = self.get("redis.host") else {
            return Ok(None);
        };
        if !is_host(host) {
            return Err(self.error("redis.host", "a host name or IP address"));
        }
        Ok(Some(RedisSettings {
            host: host.to_string(),
            port: self.port("redis.port", 6379)?,
            password: self.get("redis.password").map(str::to_string),
        }))
    }

    pub fn port(&self, key: &str, default: u16) -> Result<u16, ConfError> {
        match self.parse_or(key, default, "a port number (1-65535)")? {
            0 => Err(self.error(key, "a port number (1-65535)")),
            port => Ok(port),
        }
    }

    pub fn host(&self, key: &str, default: &str) -> Result<String, ConfError> {
        let host = self.get(key).unwrap_or(default);
        if is_host(host) {
            Ok(host.to_string())
        } else {
            Err(self.error(key, "a host name or IP address"))
        }
    }

    /// A `tcp://host:port` endpoint, when set.
    pub fn endpoint(&self, key: &str) -> Result<Option<String>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if is_endpoint(v) => Ok(Some(v.to_string())),
            Some(_) => Err(self.error(key, "an endpoint tcp://host:port")),
        }
    }

    pub fn millis(&self, key: &str, default_ms: u64) -> Result<Duration, ConfError> {
        let ms: u64 = self.parse_or(key, default_ms, "a positive number of milliseconds")?;
        if ms == 0 {
            return Err(self.error(key, "a positive number of milliseconds"));
        }
        Ok(Duration::from_millis(ms))
    }

    pub fn registry_ttl(&self) -> Result<Duration, ConfError> {
        self.millis("registry.ttl.ms", 10_000)
    }

    pub fn executor_id_start(&self) -> Result<u64, ConfError> {
        self.parse_or("executor.id.start", 1_000_000, "a non-negative integer")
    }

    /// A memory size in Spark's form (`512m`, `4g`; no unit: MiB), in MiB.
    pub fn memory_mb(&self, key: &str) -> Result<Option<u64>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => pacer_protocol::memory_mib(v)
                .filter(|&mb| mb > 0)
                .map(Some)
                .ok_or_else(|| self.error(key, "a memory size such as 512m or 4g")),
        }
    }
}

/// A host name or an IPv4/IPv6 address: letters, digits, `.`, `-`, `_`, `:` (IPv6), and
/// `[ ]` around IPv6.
pub fn is_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
}

/// `tcp://host:port`.
pub fn is_endpoint(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("tcp://") else {
        return false;
    };
    match rest.rsplit_once(':') {
        Some((host, port)) => is_host(host) && matches!(port.parse::<u16>(), Ok(p) if p > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        let mut p = Properties::default();
        p.extend(pairs.iter().copied(), "test");
        p
    }

    #[test]
    fn the_seed_file_reads_as_spark_proxy_wrote_it() {
        let dir = std::env::temp_dir().join(format!("pacer-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seed = "# internal / external\nreschedule.dst.executor=external\n\n# redis connection information\nredis.host=\nredis.password=\n\n# host selector\nhost.selector=RANDOM\n\n# dispatcher\ndispatcher.port=16161";
        std::fs::write(dir.join(FILE_NAME), seed).unwrap();
        let env =
            |name: &str| (name == "EXTERNAL_SPARK_CONF_DIR").then(|| dir.display().to_string());
        let p = Properties::from_environment(&env).unwrap();
        assert_eq!(p.destination().unwrap(), Destination::External);
        assert_eq!(p.selector().unwrap(), SelectorKind::Random);
        assert_eq!(p.redis().unwrap(), None, "an empty redis.host is unset");
        assert_eq!(p.port("dispatcher.port", 1).unwrap(), 16161);
        assert!(p.unknown_keys().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn conf_dir_defaults_to_the_home_conf_folder() {
        let env = |name: &str| (name == "EXTERNAL_SPARK_HOME").then(|| "/opt/ext".to_string());
        assert_eq!(
            Properties::conf_dir(&env),
            Some(PathBuf::from("/opt/ext/conf"))
        );
        assert_eq!(Properties::conf_dir(&|_| None), None);
        // No folder or no file: nothing set, the defaults apply.
        let p = Properties::from_environment(&|_| None).unwrap();
        assert_eq!(p.destination().unwrap(), Destination::Internal);
    }

    #[test]
    fn later_layers_win_and_errors_name_key_and_origin() {
        let mut p = props(&[("reschedule.dst.executor", "external")]);
        p.set("reschedule.dst.executor", "Burst", "Spark conf");
        assert_eq!(p.destination().unwrap(), Destination::Burst);
        p.set("host.selector", "fastest", "Spark conf");
        let e = p.selector().unwrap_err();
        assert_eq!(
            e.to_string(),
            "host.selector (from Spark conf): expected RANDOM, ROUND_ROBIN, LEAST_LOADED or PACK, got 'fastest'"
        );
        let p = props(&[("redis.host", "127.0.0.1"), ("redis.port", "70000")]);
        assert!(p
            .redis()
            .unwrap_err()
            .to_string()
            .starts_with("redis.port (from test)"));
        let p = props(&[("redis.host", "r1"), ("redis.password", "s3cret")]);
        let r = p.redis().unwrap().unwrap();
        assert_eq!((r.port, r.password.as_deref()), (6379, Some("s3cret")));
    }

    #[test]
    fn selectors_and_destinations_by_name() {
        assert_eq!("round-robin".parse(), Ok(SelectorKind::RoundRobin));
        assert_eq!("LEAST_LOADED".parse(), Ok(SelectorKind::LeastLoaded));
        assert_eq!("pack".parse(), Ok(SelectorKind::Pack));
        assert_eq!("INTERNAL".parse(), Ok(Destination::Internal));
        assert!("everywhere".parse::<Destination>().is_err());
    }

    #[test]
    fn endpoints_and_hosts() {
        assert!(is_endpoint("tcp://127.0.0.2:16161"));
        assert!(is_endpoint("tcp://[::1]:5"));
        assert!(!is_endpoint("tcp://host"));
        assert!(!is_endpoint("http://host:1"));
        assert!(!is_endpoint("tcp://a b:1"));
        assert!(!is_host("host;id"));
    }
}
