//! The `pacer-bridge` command line: argument definitions and dispatch to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use pacer_bridge::history::ScaleOutRange;
use pacer_bridge::loadgen::{self, LoadConfig};
use pacer_bridge::output::{self, Format};
use pacer_bridge::replay::{self, Reference, ReplayConfig};
use pacer_bridge::runs::{RunList, RunReport, RunView};
use pacer_bridge::server::{self, ServerConfig};
use pacer_bridge::store::Store;
use pacer_bridge::{http, logger, policy, trace};
use pacer_protocol::Codec;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[derive(Subcommand)]
enum Command {
    /// Replay a job-level trace under policies, against a clairvoyant bound.
    Replay(ReplayArgs),
    /// Serve recommendations (JSON and MessagePack, REQ and DEALER clients).
    Serve(ServeArgs),
    /// List past and running runs, or show one in detail (--run).
    Runs(RunsArgs),
    /// Write the finished runs of an application in the job-level trace format.
    Export(ExportArgs),
    /// Load-test any bridge with simulated applications.
    Bench(BenchArgs),
}

#[derive(Args)]
struct Database {
    /// SQLite database with the run history (`serve` creates it if missing).
    #[arg(long, default_value = "pacer-bridge.db")]
    db: PathBuf,
}

#[derive(Args)]
struct ReplayArgs {
    /// A trace in the job-level format (docs/EVALUATION.md).
    #[arg(long)]
    trace: PathBuf,
    /// The runtime target of every replayed run, in ms.
    #[arg(long)]
    target_ms: i64,
    /// Comma-separated: ellis, ellis-abe, pacer, oracle, oracle-constant, oracle-frugal, static-max, noop, fixed:N.
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
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Also print every replayed run (with --format json: under "runs", per policy).
    #[arg(long)]
    per_run: bool,
    /// Replayed runs join the history of later runs, per policy, as the live bridge
    /// records them (default: every run is planned from the profiling runs only).
    #[arg(long)]
    learn: bool,
    /// The hidden model of each job's scale-out effect: fitted on every run and extrapolated
    /// (fit), the same held at the nearest recorded scale-out (hold), or fitted on the
    /// profiling runs only (profiling). docs/EVALUATION.md gives each one's bias.
    #[arg(long, value_enum, default_value_t, alias = "reference-outside")]
    reference: Reference,
    #[command(flatten)]
    pricing: Pricing,
    /// Also replay an external bridge (tcp://HOST:PORT), driven as a listener drives it and
    /// reported as `bridge`. It keeps its own history (give it a fresh one): it sees the
    /// profiling runs, then learns from every replayed run, as with --learn.
    #[arg(long, value_name = "ENDPOINT")]
    bridge: Option<String>,
}

/// `pacer`'s settings that `serve` and `replay` share.
#[derive(Args)]
struct Pricing {
    /// When the target is out of reach, what a minute late is worth to `pacer`, in minutes of
    /// the maximum scale-out: more executors are added while each shortens the run by more
    /// than it costs at this price (docs/POLICY.md).
    #[arg(long, value_name = "PRICE", default_value_t)]
    late_minute_price: policy::LateMinutePrice,
}

#[derive(Args)]
struct ServeArgs {
    /// ZeroMQ endpoint to bind; loopback unless told otherwise.
    #[arg(long, default_value = "tcp://127.0.0.1:5555")]
    bind: String,
    #[command(flatten)]
    database: Database,
    /// noop, fixed:N, ellis, ellis-abe or pacer.
    #[arg(long, default_value = "pacer")]
    policy: String,
    /// How profiling runs choose their scale-out: bisection of the range, or uniformly at
    /// random in it (the original's rule).
    #[arg(long, value_enum, default_value_t)]
    profiling: ProfilingRule,
    /// Seed of `--profiling random` (default: from the clock, logged at start).
    #[arg(long, value_name = "N")]
    profiling_seed: Option<u64>,
    #[command(flatten)]
    pricing: Pricing,
    /// Larger messages are answered with an error.
    #[arg(long, default_value_t = 1 << 20)]
    max_message_bytes: usize,
    /// Threads running the policy (one application at a time each).
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Serve /metrics, /healthz, /readyz and the live view of runs on HOST:PORT (a bare port
    /// is on loopback). Off unless given.
    #[arg(long, value_name = "ADDR", value_parser = http::parse_address)]
    http: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum ProfilingRule {
    #[default]
    Bisection,
    Random,
}

impl ServeArgs {
    fn profiling(&self) -> Result<policy::Profiling, String> {
        match (self.profiling, self.profiling_seed) {
            (ProfilingRule::Bisection, None) => Ok(policy::Profiling::Bisection),
            (ProfilingRule::Bisection, Some(_)) => {
                Err("--profiling-seed needs --profiling random".into())
            }
            (ProfilingRule::Random, seed) => {
                let seed = seed.unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |t| t.as_nanos() as u64)
                });
                log::info!(
                    "profiling runs draw their scale-outs at random (--profiling-seed {seed})"
                );
                Ok(policy::Profiling::Random { seed })
            }
        }
    }
}

#[derive(Args)]
struct RunsArgs {
    #[command(flatten)]
    database: Database,
    /// Only this application (app name).
    #[arg(long)]
    app: Option<String>,
    /// One run in detail (its APP_EVENT_ID): every decision with its reason, every job with
    /// the end predicted after it.
    #[arg(long, value_name = "ID", conflicts_with = "app")]
    run: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    database: Database,
    /// The application (app name).
    #[arg(long)]
    app: String,
    /// Output file (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    #[arg(long)]
    connect: String,
    #[arg(long, default_value_t = 10)]
    apps: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, value_enum, default_value_t)]
    codec: Codec,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Pause between a reply and an application's next event, in ms (0: closed loop).
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
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
        Command::Replay(args) => {
            let config = ReplayConfig {
                target_ms: args.target_ms,
                policies: args
                    .policies
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
                profiling_runs: args.profiling_runs,
                range: ScaleOutRange::new(args.min_executors, args.max_executors),
                actuation_delay_ms: args.actuation_delay_ms as f64,
                seed: args.seed,
                learn: args.learn,
                reference: args.reference,
                late_minute_price: args.pricing.late_minute_price,
                bridge: args.bridge,
            };
            let runs = trace::read(&args.trace)?;
            let (mut report, outcomes) = replay::replay(&runs, &config)?;
            if args.per_run {
                let replayed = &runs[config.profiling_runs..];
                match args.format {
                    Format::Table => print!(
                        "{}",
                        replay::per_run_table(replayed, &outcomes, config.target_ms)
                    ),
                    Format::Json => {
                        report = report.with_runs(replayed, &outcomes, config.target_ms)
                    }
                }
            }
            output::print(&report, args.format);
            Ok(())
        }
        Command::Serve(args) => {
            let options = policy::Options {
                profiling: args.profiling()?,
                late_minute_price: args.pricing.late_minute_price,
            };
            let policy = policy::by_name_with(&args.policy, options)?;
            if policy.name() == "pacer" {
                log::info!(
                    "pacer: a minute late is worth {} minute(s) of the maximum scale-out (--late-minute-price)",
                    args.pricing.late_minute_price
                );
            }
            let server = server::start(ServerConfig {
                bind: args.bind,
                db: args.database.db,
                policy,
                max_message_bytes: args.max_message_bytes,
                workers: args.workers,
            })
            .map_err(|e| e.to_string())?;
            let _http = match args.http {
                Some(address) => {
                    let http = http::start(address, server.state())?;
                    log::info!("metrics and the live view on http://{}/", http.address());
                    Some(http)
                }
                None => None,
            };
            server.serve_until_signalled()
        }
        Command::Runs(args) => {
            let db = &args.database.db;
            let store = Store::open_existing(db).map_err(|e| e.to_string())?;
            let reader = store.reader().map_err(|e| e.to_string())?;
            match args.run {
                Some(id) => {
                    let detail = reader
                        .run_detail(&id)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| {
                            format!("no run with APP_EVENT_ID '{id}' in {}", db.display())
                        })?;
                    output::print(&RunReport(RunView::of(detail)), args.format);
                }
                None => {
                    let runs = reader
                        .runs(args.app.as_deref())
                        .map_err(|e| e.to_string())?;
                    output::print(&RunList(runs), args.format);
                }
            }
            Ok(())
        }
        Command::Export(args) => {
            let store = Store::open_existing(&args.database.db).map_err(|e| e.to_string())?;
            let text = trace::export(&store, &args.app)?;
            match args.output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        Command::Bench(args) => {
            let report = loadgen::run(&LoadConfig {
                connect: args.connect,
                apps: args.apps.max(1),
                duration: Duration::from_secs(args.seconds.max(1)),
                codec: args.codec,
                think: Duration::from_millis(args.think_ms),
            })?;
            output::print(&report, args.format);
            Ok(())
        }
    }
}
