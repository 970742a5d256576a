use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use pacer_bridge::history::ScaleOutRange;
use pacer_bridge::loadgen::{self, LoadConfig};
use pacer_bridge::replay::{self, Outside, ReplayConfig};
use pacer_bridge::server::{self, ServerConfig};
use pacer_bridge::store::Store;
use pacer_bridge::{logger, policy, trace};
use pacer_protocol::Codec;

#[derive(Parser)]
#[command(
    name = "pacer-bridge",
    version,
    about = "Scale-out recommendations for Spark applications with runtime targets"
)]
struct Cli {
    /// Log level: error, warn, info, debug.
    #[arg(long, global = true, default_value = "info")]
    log_level: log::LevelFilter,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutsideArg {
    Fit,
    Hold,
}

#[derive(Clone, Copy, ValueEnum)]
enum CodecArg {
    Json,
    Msgpack,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a job-level trace under policies, against a clairvoyant bound.
    Replay {
        /// A trace in the job-level format of ../shared/traces.
        #[arg(long)]
        trace: PathBuf,
        /// The runtime target of every replayed run, in ms.
        #[arg(long)]
        target_ms: i64,
        /// Comma-separated: ellis, pacer, oracle, oracle-constant, static-max, noop, fixed:N.
        #[arg(long, default_value = "ellis,pacer,oracle,static-max")]
        policies: String,
        /// The first runs (by APP_EVENT_ID) are the history the policies get.
        #[arg(long, default_value_t = 10)]
        profiling_runs: usize,
        #[arg(long, default_value_t = 4)]
        min_executors: u32,
        #[arg(long, default_value_t = 36)]
        max_executors: u32,
        /// Time for a scale-up to take effect (jittered ±25 % from the seed).
        #[arg(long, default_value_t = 20_000)]
        actuation_delay_ms: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Also print every replayed run (table format).
        #[arg(long)]
        per_run: bool,
        /// Replayed runs join the history of later runs, per policy, as the live bridge
        /// records them (default: every run is planned from the profiling runs only).
        #[arg(long)]
        learn: bool,
        /// The reference model at scale-outs a job was never recorded at: its fitted curve
        /// (fit), or its value at the nearest recorded scale-out (hold; a sensitivity check).
        #[arg(long, value_enum, default_value = "fit")]
        reference_outside: OutsideArg,
    },
    /// Serve recommendations (JSON and MessagePack, REQ and DEALER clients).
    Serve {
        /// ZeroMQ endpoint to bind; loopback unless told otherwise.
        #[arg(long, default_value = "tcp://127.0.0.1:5555")]
        bind: String,
        /// SQLite database with the run history (created if missing).
        #[arg(long, default_value = "pacer-bridge.db")]
        db: PathBuf,
        /// noop, fixed:N, ellis or pacer.
        #[arg(long, default_value = "pacer")]
        policy: String,
        /// Larger messages are answered with an error.
        #[arg(long, default_value_t = 1 << 20)]
        max_message_bytes: usize,
        /// Threads running the policy (one application at a time each).
        #[arg(long, default_value_t = 4)]
        workers: usize,
    },
    /// List past and running runs.
    Runs {
        #[arg(long, default_value = "pacer-bridge.db")]
        db: PathBuf,
        /// Only this application (app name).
        #[arg(long)]
        app: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Write the finished runs of an application in the job-level trace format.
    Export {
        #[arg(long, default_value = "pacer-bridge.db")]
        db: PathBuf,
        /// The application (app name).
        #[arg(long)]
        app: String,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Load-test any bridge with simulated applications.
    Bench {
        #[arg(long)]
        connect: String,
        #[arg(long, default_value_t = 10)]
        apps: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, value_enum, default_value = "json")]
        codec: CodecArg,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Pause between a reply and an application's next event, in ms (0: closed loop).
        #[arg(long, default_value_t = 0)]
        think_ms: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(cli.log_level);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pacer-bridge: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Replay {
            trace,
            target_ms,
            policies,
            profiling_runs,
            min_executors,
            max_executors,
            actuation_delay_ms,
            seed,
            format,
            per_run,
            learn,
            reference_outside,
        } => {
            let config = ReplayConfig {
                target_ms,
                policies: policies
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
                profiling_runs,
                range: ScaleOutRange::new(min_executors, max_executors),
                actuation_delay_ms: actuation_delay_ms as f64,
                seed,
                learn,
                outside: match reference_outside {
                    OutsideArg::Fit => Outside::Fit,
                    OutsideArg::Hold => Outside::Hold,
                },
            };
            replay_trace(&trace, &config, format, per_run)
        }
        Command::Serve {
            bind,
            db,
            policy,
            max_message_bytes,
            workers,
        } => serve(bind, db, &policy, max_message_bytes, workers),
        Command::Runs { db, app, format } => runs(&db, app.as_deref(), format),
        Command::Export { db, app, output } => export(&db, &app, output),
        Command::Bench {
            connect,
            apps,
            seconds,
            codec,
            format,
            think_ms,
        } => bench(connect, apps, seconds, codec, format, think_ms),
    }
}

fn serve(
    bind: String,
    db: PathBuf,
    policy: &str,
    max_message_bytes: usize,
    workers: usize,
) -> Result<(), String> {
    let policy = policy::by_name(policy)?;
    let server = server::start(ServerConfig {
        bind,
        db,
        policy,
        max_message_bytes,
        workers,
    })
    .map_err(|e| e.to_string())?;
    let stop = server.stop_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    log::info!("signal received: shutting down");
    server.wait();
    Ok(())
}

fn replay_trace(
    path: &Path,
    config: &ReplayConfig,
    format: Format,
    per_run: bool,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let runs = trace::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let (report, outcomes) = replay::replay(&runs, config)?;
    if per_run {
        let replayed = &runs[config.profiling_runs..];
        for (i, run) in replayed.iter().enumerate() {
            for (name, results) in &outcomes {
                let o = &results[i];
                let scale_outs: Vec<String> = o.scale_outs.iter().map(u32::to_string).collect();
                println!(
                    "run {:>4} {:<15} {:>8.1} s {:<4} {:>8.1} executor-min  {}",
                    run.app_event_id,
                    name,
                    o.runtime_ms / 1e3,
                    if o.runtime_ms <= config.target_ms as f64 {
                        "met"
                    } else {
                        "MISS"
                    },
                    o.executor_ms / 60e3,
                    scale_outs.join("→")
                );
            }
        }
        println!();
    }
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Format::Table => {
            println!(
                "{:<16} {:>5} {:>7} {:>10} {:>15} {:>14} {:>11}",
                "policy", "runs", "CVC", "CVS min", "CVS viol. min", "executor-min", "rescalings"
            );
            for (name, m) in &report.policies {
                println!(
                    "{:<16} {:>5} {:>7.3} {:>10.2} {:>15.2} {:>14.1} {:>11.2}",
                    name,
                    m.runs,
                    m.cvc,
                    m.cvs_min,
                    m.cvs_violating_min,
                    m.executor_minutes,
                    m.rescalings
                );
            }
        }
    }
    Ok(())
}

fn open_existing(db: &Path) -> Result<Store, String> {
    if !db.exists() {
        return Err(format!("no history database at {}", db.display()));
    }
    Store::open(db).map_err(|e| e.to_string())
}

fn runs(db: &Path, app: Option<&str>, format: Format) -> Result<(), String> {
    let store = open_existing(db)?;
    let runs = store
        .reader()
        .and_then(|r| r.runs(app))
        .map_err(|e| e.to_string())?;
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = runs
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "app_event_id": r.app_event_id,
                        "app_name": r.app_name,
                        "adaptive": r.is_adaptive,
                        "start": trace::format_timestamp(r.start_ms),
                        "runtime_ms": r.runtime_ms(),
                        "target_ms": r.target_runtime_ms,
                        "met_target": r.met_target(),
                        "scale_outs": r.scale_outs,
                        "policy": r.policy,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        Format::Table => {
            println!(
                "{:<6} {:<28} {:<23} {:>10} {:>10} {:<5} SCALE-OUTS",
                "ID", "APP", "START (UTC)", "RUNTIME s", "TARGET s", "MET"
            );
            for r in &runs {
                let runtime = r.runtime_ms().map_or("running".to_string(), |ms| {
                    format!("{:.1}", ms as f64 / 1e3)
                });
                let target = if r.is_adaptive {
                    format!("{:.1}", r.target_runtime_ms as f64 / 1e3)
                } else {
                    "profiling".into()
                };
                let met = match r.met_target() {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                let scale_outs: Vec<String> = r.scale_outs.iter().map(u32::to_string).collect();
                println!(
                    "{:<6} {:<28} {:<23} {:>10} {:>10} {:<5} {}",
                    r.app_event_id,
                    truncate(&r.app_name, 28),
                    trace::format_timestamp(r.start_ms),
                    runtime,
                    target,
                    met,
                    scale_outs.join("→")
                );
            }
        }
    }
    Ok(())
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars()
            .take(width - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}

fn export(db: &Path, app: &str, output: Option<PathBuf>) -> Result<(), String> {
    let store = open_existing(db)?;
    let rows = store
        .reader()
        .and_then(|r| r.trace_rows(app))
        .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err(format!("no finished runs of '{app}' in {}", db.display()));
    }
    let text = trace::write(&rows);
    match output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn bench(
    connect: String,
    apps: usize,
    seconds: u64,
    codec: CodecArg,
    format: Format,
    think_ms: u64,
) -> Result<(), String> {
    let config = LoadConfig {
        connect,
        apps: apps.max(1),
        duration: Duration::from_secs(seconds.max(1)),
        codec: match codec {
            CodecArg::Json => Codec::Json,
            CodecArg::Msgpack => Codec::MessagePack,
        },
        think: Duration::from_millis(think_ms),
    };
    let report = loadgen::run(&config)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
        Format::Table => {
            println!("apps {:>6}  messages/s {:>10.0}  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  errors {}",
                config.apps, report.messages_per_s, report.p50_ms, report.p99_ms, report.max_ms, report.errors);
        }
    }
    Ok(())
}
