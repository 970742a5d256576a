//! `pacer-proxy`: the command line of the external pool (clap definitions and dispatch only).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use pacer_proxy::conf::Properties;
use pacer_proxy::dispatcher::{self, DispatcherSettings};
use pacer_proxy::registry::Registry;
use pacer_proxy::status::Status;
use pacer_proxy::worker::{self, WorkerSettings};

#[derive(Parser)]
#[command(
    name = "pacer-proxy",
    about = "Pacer's external executors: dispatcher, worker agent and status",
    after_help = "Settings come from common.properties in $EXTERNAL_SPARK_CONF_DIR (default \
                  $EXTERNAL_SPARK_HOME/conf), then --set and the flags (docs/EXTERNAL.md)."
)]
struct Cli {
    /// Folder of common.properties (instead of $EXTERNAL_SPARK_CONF_DIR).
    #[arg(long, global = true)]
    conf_dir: Option<PathBuf>,
    /// Any common.properties key, e.g. --set redis.port=6380 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    /// redis.host
    #[arg(long, global = true)]
    redis_host: Option<String>,
    /// redis.port
    #[arg(long, global = true)]
    redis_port: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Places executors for drivers on the registered workers.
    Dispatcher {
        /// dispatcher.host: the address to bind and register.
        #[arg(long)]
        host: Option<String>,
        /// dispatcher.port
        #[arg(long)]
        port: Option<String>,
        /// host.selector: RANDOM, ROUND_ROBIN, LEAST_LOADED or PACK.
        #[arg(long)]
        selector: Option<String>,
    },
    /// Starts executors on this host when a dispatcher asks.
    Worker {
        /// worker.host: the address to bind, register and give executors.
        #[arg(long)]
        host: Option<String>,
        /// worker.port
        #[arg(long)]
        port: Option<String>,
        /// worker.id
        #[arg(long)]
        id: Option<String>,
        /// worker.cores
        #[arg(long)]
        cores: Option<String>,
        /// worker.memory (e.g. 4g)
        #[arg(long)]
        memory: Option<String>,
        /// worker.spark.homes (repeatable)
        #[arg(long = "spark-home")]
        spark_homes: Vec<String>,
        /// worker.work.dir
        #[arg(long)]
        work_dir: Option<String>,
    },
    /// Dispatchers, workers and external executors per application, from the registry.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let cli = Cli::parse();
    if let Err(message) = run(cli) {
        log::error!("{message}");
        std::process::exit(2);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let env = |name: &str| std::env::var(name).ok();
    let mut properties = match &cli.conf_dir {
        Some(dir) => Properties::from_file_if_present(&dir.join(pacer_proxy::conf::FILE_NAME)),
        None => Properties::from_environment(&env),
    }
    .map_err(|e| e.to_string())?;
    for pair in &cli.set {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--set: expected KEY=VALUE, got '{pair}'"))?;
        properties.set(key.trim(), value, "command line");
    }
    let mut flag = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            properties.set(key, v.as_str(), "command line");
        }
    };
    flag("redis.host", &cli.redis_host);
    flag("redis.port", &cli.redis_port);
    match &cli.command {
        Command::Dispatcher {
            host,
            port,
            selector,
        } => {
            flag("dispatcher.host", host);
            flag("dispatcher.port", port);
            flag("host.selector", selector);
        }
        Command::Worker {
            host,
            port,
            id,
            cores,
            memory,
            spark_homes,
            work_dir,
        } => {
            flag("worker.host", host);
            flag("worker.port", port);
            flag("worker.id", id);
            flag("worker.cores", cores);
            flag("worker.memory", memory);
            flag("worker.work.dir", work_dir);
            if !spark_homes.is_empty() {
                flag("worker.spark.homes", &Some(spark_homes.join(",")));
            }
        }
        Command::Status { .. } => {}
    }
    for key in properties.unknown_keys() {
        log::warn!("unknown key {key} ignored");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| e.to_string())?;
    }
    match cli.command {
        Command::Dispatcher { .. } => {
            dispatcher::run(DispatcherSettings::from_properties(&properties)?, &stop)
        }
        Command::Worker { .. } => {
            worker::run(WorkerSettings::from_properties(&properties, &env)?, &stop)
        }
        Command::Status { json } => {
            let redis = properties
                .redis()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    properties
                        .error("redis.host", "the registry's host")
                        .to_string()
                })?;
            let mut registry = Registry::new(&redis).map_err(|e| e.to_string())?;
            let status = Status::read(&mut registry, pacer_proxy::daemon::now_ms())
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).expect("serializes")
                );
            } else {
                print!("{}", status.table());
            }
            Ok(())
        }
    }
}
