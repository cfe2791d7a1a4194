//! The `sightline` daemon: command line, configuration, and the wiring of collector, storage, rules and UI.

// `auth`, `outbound`, `notifications_file` and `rule_files` are validated today and read once the rules and UI
// land; until then parts of the config API are unused.
#[allow(dead_code, reason = "config fields read by the rules and UI issues")]
mod config;
mod notify;
mod query;
mod redact;
mod rules;
mod serve;

// The system allocator, on purpose: mimalloc decoded requests faster in a microbenchmark, but in the daemon it
// kept freed buffers resident (peak RSS past `memory_limit` under overload) and was no faster end to end
// (BENCHMARKS.md, "The allocator").

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "sightline", version, about = "One daemon for OTLP logs, metrics and traces")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon
    Serve {
        /// Configuration file (default: $SIGHTLINE_CONFIG, else the embedded defaults)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Work with configuration files
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Try the redaction rules
    Redact {
        #[command(subcommand)]
        command: RedactCommand,
    },
    /// Check and test Prometheus rule files
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Try the notification receivers
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Run SQL on a running daemon (POST /api/v1/sql) and print the result as a table
    Query {
        /// One read-only SQL statement, e.g. "SELECT service_name, count(*) FROM logs GROUP BY 1"
        #[arg(value_name = "SQL")]
        sql: String,
        /// The daemon's API address
        #[arg(long, value_name = "URL", default_value = "http://localhost:8080")]
        url: String,
        /// API token (default: $SIGHTLINE_ADMIN_TOKEN)
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RedactCommand {
    /// Redact one OTLP/JSON export request read from stdin: the result on stdout, each change on stderr
    Test {
        /// Configuration file whose `redaction:` rules apply (default: $SIGHTLINE_CONFIG, else the built-ins)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// Send a test notification through every integration of a receiver and print what each answered
    Test {
        /// The receiver's name in the notifications file
        #[arg(value_name = "RECEIVER")]
        receiver: String,
        /// Configuration file (default: $SIGHTLINE_CONFIG, else the embedded defaults)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Load and validate rule files as `promtool check rules` does; print every error with its place
    Check {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Run unit-test files in `promtool test rules` format
    Test {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay rule files over a running daemon's stored history; print when each alert would have gone
    /// pending, fired and resolved
    Backtest {
        /// Start of the range: RFC 3339 or Unix seconds
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End of the range: RFC 3339 or Unix seconds
        #[arg(long, value_name = "TIME")]
        to: String,
        /// The daemon's API address
        #[arg(long, value_name = "URL", default_value = "http://localhost:8080")]
        url: String,
        /// API token (default: $SIGHTLINE_ADMIN_TOKEN)
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate a configuration file; print every error, one per line
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Config { command: ConfigCommand::Check { file } } => check_config(&file),
        Command::Redact { command: RedactCommand::Test { config } } => redact_test(config),
        Command::Rules { command: RulesCommand::Backtest { from, to, url, token, files } } => {
            let Some(token) = api_token(token) else { return ExitCode::FAILURE };
            let mut out = String::new();
            match rules::backtest(&query::Target { url, token }, &from, &to, &files, &mut out) {
                Ok(()) => {
                    let _ = write!(std::io::stdout().lock(), "{out}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Rules { command: RulesCommand::Check { files } } => {
            print_report(|out| rules::check(&files, out))
        }
        Command::Rules { command: RulesCommand::Test { files } } => {
            print_report(|out| rules::test(&files, out))
        }
        Command::Notify { command: NotifyCommand::Test { receiver, config } } => {
            notify_test(config, &receiver)
        }
        Command::Query { sql, url, token } => {
            let Some(token) = api_token(token) else { return ExitCode::FAILURE };
            query::run(&query::Target { url, token }, &sql)
        }
    }
}

/// Prints what `run` reports; success when it says everything passed.
fn print_report(run: impl FnOnce(&mut String) -> bool) -> ExitCode {
    let mut out = String::new();
    let passed = run(&mut out);
    let _ = write!(std::io::stdout().lock(), "{out}");
    if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `--token`, else `$SIGHTLINE_ADMIN_TOKEN`; `None` (with the error printed) when neither is set.
fn api_token(token: Option<String>) -> Option<String> {
    let token = token
        .or_else(|| std::env::var("SIGHTLINE_ADMIN_TOKEN").ok().filter(|token| !token.is_empty()));
    if token.is_none() {
        eprintln!("error: no API token: pass --token or set SIGHTLINE_ADMIN_TOKEN");
    }
    token
}

fn serve(config_path: Option<PathBuf>) -> ExitCode {
    let Some(config) = load_config(config_path) else { return ExitCode::FAILURE };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "sightline stopped with an error");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration of `--config FILE`, else `$SIGHTLINE_CONFIG`, else the embedded defaults; `None` (every
/// error printed) when it does not load.
fn load_config(config_path: Option<PathBuf>) -> Option<config::Config> {
    let config_path = config_path.or_else(|| {
        std::env::var_os("SIGHTLINE_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from)
    });
    match config::load(config_path.as_deref()) {
        Ok(config) => Some(config),
        Err(errors) => {
            let source = config_path
                .as_deref()
                .map_or_else(|| "embedded defaults".to_owned(), |p| p.display().to_string());
            eprintln!("error: invalid configuration ({source}):");
            for error in errors.iter() {
                eprintln!("  {error}");
            }
            None
        }
    }
}

/// `sightline redact test [--config FILE] < payload.json`.
fn redact_test(config_path: Option<PathBuf>) -> ExitCode {
    let Some(config) = load_config(config_path) else { return ExitCode::FAILURE };
    let mut payload = Vec::new();
    if let Err(error) = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut payload) {
        eprintln!("error: cannot read the payload from stdin: {error}");
        return ExitCode::FAILURE;
    }
    match redact::dry_run(&config.redaction, &payload) {
        Ok(dry_run) => {
            let _ = writeln!(std::io::stdout().lock(), "{}", dry_run.payload);
            eprint!("{}", dry_run.report);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `sightline notify test RECEIVER [--config FILE]`: one line per integration; exit 1 unless all delivered.
fn notify_test(config_path: Option<PathBuf>, receiver: &str) -> ExitCode {
    let Some(config) = load_config(config_path) else { return ExitCode::FAILURE };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    let result = runtime.block_on(notify::test(&config, receiver, &mut out));
    let _ = write!(std::io::stdout().lock(), "{out}");
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `sightline config check FILE`: `FILE: ok` on stdout, or every error on stderr, exit 1.
fn check_config(file: &Path) -> ExitCode {
    match config::load(Some(file)) {
        Ok(_) => {
            // A closed stdout is not worth a panic; the exit code still says "ok".
            let _ = writeln!(std::io::stdout().lock(), "{}: ok", file.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging(log: &config::LogConfig) {
    // The level was validated by the config loader; fall back to "info" rather than panic.
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // try_init: a second initialisation (tests, or serve doing its own) must not panic.
    let _ = match log.format {
        config::LogFormat::Text => builder.try_init(),
        config::LogFormat::Json => builder.json().try_init(),
    };
}
