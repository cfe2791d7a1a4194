//! The `sightline.yaml` configuration: types, defaults, loading and validation.
//!
//! Loading never stops at the first problem: every error is collected with its path in the
//! file (`otlp.tokens[1].signals[0]: ...`) so that one `sightline config check` run shows all of
//! them. See `docs/configuration.md` for every key; a test keeps that page in sync with the
//! loader.

mod build;
mod environment;
mod oidc;
mod reader;
mod redaction;
mod secret;
mod units;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml_ng::Value;
use sightline_collector::redact::RedactionConfig;

pub use environment::{Environment, ProcessEnvironment};
pub use secret::Secret;

/// The whole daemon configuration. Plain data; every field has a default (see `Default`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where telemetry files and the state database live (env `SIGHTLINE_DATA_DIR` wins).
    pub data_dir: PathBuf,
    /// The memory the daemon may use; the write buffer, flushes, requests in flight and queries get shares.
    pub memory_limit: u64,
    pub log: LogConfig,
    pub otlp: OtlpConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    /// Prometheus rule file globs, relative to the config file's directory, not expanded yet.
    pub rule_files: Vec<String>,
    /// The directory `rule_files` are relative to: the configuration file's.
    pub rule_files_dir: PathBuf,
    /// Default evaluation interval for rule groups that set none.
    pub evaluation_interval: Duration,
    /// Alertmanager-style notification config (route, receivers, inhibit_rules): `notifications_file` or
    /// `notifications:` inline.
    pub notifications: Option<NotificationsSource>,
    pub outbound: OutboundConfig,
    /// What is removed from telemetry before it is stored (`redaction:`); the built-in rules are on by default.
    pub redaction: RedactionConfig,
    /// RED metrics derived from the stored spans (`span_metrics:`).
    pub span_metrics: SpanMetricsConfig,
    pub storage: StorageConfig,
    pub retention: RetentionConfig,
    pub shutdown: ShutdownConfig,
}

/// How long stored telemetry is kept. Zero keeps it forever.
#[derive(Debug, Clone, Default)]
pub struct RetentionConfig {
    /// For every table not listed in `tables`.
    pub max_age: Duration,
    /// Per table (`logs`, `spans`, `metrics`, `metrics_histogram`, …).
    pub tables: std::collections::BTreeMap<String, Duration>,
}

impl RetentionConfig {
    /// The retention of `table`, or `None` to keep it forever.
    pub fn of(&self, table: &str) -> Option<Duration> {
        Some(self.tables.get(table).copied().unwrap_or(self.max_age)).filter(|age| !age.is_zero())
    }
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, e.g. `info` or `info,sightline_storage=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct OtlpConfig {
    pub grpc: GrpcReceiverConfig,
    pub http: HttpReceiverConfig,
    /// Ingest tokens; when empty, OTLP ingest needs no token.
    pub tokens: Vec<IngestTokenConfig>,
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone)]
pub struct GrpcReceiverConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Largest accepted message in bytes, measured after decompression.
    pub max_message_size: u64,
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone)]
pub struct HttpReceiverConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes, measured after decompression.
    pub max_body_size: u64,
    pub cors: CorsConfig,
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone)]
pub struct CorsConfig {
    /// Origins allowed to send OTLP from a browser; `*` allows any. Empty: no CORS headers.
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer.
    pub max_age: Duration,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct IngestTokenConfig {
    /// Who the token belongs to; unique, used in logs and metrics.
    pub name: String,
    pub token: Secret,
    /// Which signals the token may send: `logs`, `metrics`, `traces`.
    pub signals: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Most attributes kept per log record, span, or data point.
    pub max_attributes: u32,
    /// Longest attribute value in bytes; longer values are truncated.
    pub max_attribute_value_length: u64,
    /// Most items (log records, spans, data points) accepted in one request.
    pub max_items_per_request: u64,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Web UI, API, `/metrics`, `/healthz`, `/readyz`.
    pub listen: SocketAddr,
    /// The URL users reach this daemon at (`http.external_url`), without a trailing slash; links in
    /// notifications and alerts' `generatorURL` start with it. Empty: no links.
    pub external_url: String,
}

/// Where the notification configuration is, in Alertmanager's `alertmanager.yml` format.
#[derive(Debug, Clone)]
pub enum NotificationsSource {
    /// `notifications_file`: read when the daemon starts, as it is (Alertmanager does no `${VAR}`
    /// substitution, so neither is done here).
    File(PathBuf),
    /// `notifications:` inline, after `${VAR}` substitution, as YAML text; relative paths in it (templates,
    /// `*_file` secrets) are taken from `base_dir`, the configuration file's directory.
    Inline { text: Secret, base_dir: PathBuf },
}

impl NotificationsSource {
    /// The YAML text of the configuration.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            NotificationsSource::File(path) => std::fs::read_to_string(path),
            NotificationsSource::Inline { text, .. } => Ok(text.expose().to_owned()),
        }
    }

    /// The directory relative paths in the configuration are taken from.
    pub fn base_dir(&self) -> &Path {
        match self {
            NotificationsSource::File(path) => path.parent().unwrap_or(Path::new(".")),
            NotificationsSource::Inline { base_dir, .. } => base_dir,
        }
    }
}

/// Names the source in messages: `notifications_file /etc/sightline/alertmanager.yml` or `notifications`.
impl fmt::Display for NotificationsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotificationsSource::File(path) => write!(f, "notifications_file {}", path.display()),
            NotificationsSource::Inline { .. } => f.write_str("notifications"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Bootstrap API token with the admin role (env `SIGHTLINE_ADMIN_TOKEN` when unset here).
    pub admin_token: Option<Secret>,
    /// Bootstrap UI password for user `admin` (env `SIGHTLINE_ADMIN_PASSWORD` when unset here), used when the
    /// account is created on first start.
    pub admin_password: Option<Secret>,
    /// Whether the session cookie is `Secure` (and `__Host-`): off only for plain-HTTP localhost.
    pub secure_cookies: bool,
    /// Lockout after failed logins, and how long sessions last.
    pub sessions: sightline_ui::auth::AuthSettings,
    /// Single sign-on with an OpenID Connect provider, when configured.
    pub oidc: Option<sightline_ui::auth::oidc::OidcSettings>,
}

/// Where notifications may go, and how their delivery retries.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// CIDRs or host names that notifications may reach although loopback or private.
    pub allow: Vec<String>,
    /// The wait after a failed delivery; it doubles with each further failure, up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// How long a notification is retried before it becomes a dead letter.
    pub retry_for: Duration,
    /// Consecutive failures that open an integration's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before a probe.
    pub breaker_open_for: Duration,
}

impl Default for OutboundConfig {
    fn default() -> OutboundConfig {
        OutboundConfig {
            allow: Vec::new(),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(5 * 60),
            retry_for: Duration::from_secs(6 * 60 * 60),
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(30),
        }
    }
}

/// RED metrics derived from stored spans, named as the OpenTelemetry Collector's spanmetrics connector
/// names them (`traces_span_metrics_calls_total`, `traces_span_metrics_duration_seconds_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanMetricsConfig {
    pub enabled: bool,
    /// How often the counts are written as delta points; a crash loses at most this much of them.
    pub flush_interval: Duration,
    /// Most series per flush interval; spans of further series go to one overflow series.
    pub max_series: u64,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub durability: Durability,
    /// How long a WAL group commit waits for more writes to share its fsync.
    pub commit_delay: Duration,
    /// Size at which a WAL segment is closed and the next one started.
    pub wal_segment_size: u64,
    /// Memory for rows not yet in Parquet files; past it intake is refused, retryably.
    pub buffer_max_size: u64,
    /// Buffered bytes that start a flush to Parquet.
    pub flush_size: u64,
    /// Age of the oldest buffered rows that starts a flush.
    pub flush_age: Duration,
    /// Where the Parquet files live; `None`: under `data_dir`. The WAL always stays in `data_dir`.
    pub object_store: Option<ObjectStoreConfig>,
    /// How compacted logs files store a body.
    pub log_bodies: LogBodies,
}

/// How compacted logs files store a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogBodies {
    /// The attribute values the body holds (fields a parser copied out of a raw line) as references to
    /// those attributes: each value is stored once; sightline's reads put the values back.
    AttributeReferences,
    /// As sent: other Parquet readers see the bodies as they are.
    AsSent,
}

/// An object store for the Parquet files.
#[derive(Debug, Clone)]
pub enum ObjectStoreConfig {
    S3(S3Config),
}

/// An S3-compatible bucket. Unset credentials and region come from the standard AWS environment variables.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    pub region: Option<String>,
    /// For S3-compatible servers (MinIO, R2…); unset: AWS.
    pub endpoint: Option<String>,
    /// Key prefix of this node's files, so several nodes can share a bucket.
    pub prefix: Option<String>,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
    /// Allows a plain `http://` endpoint.
    pub allow_http: bool,
}

/// Whether an ingest request is acknowledged only after its WAL write is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledge after fsync: an acknowledged request survives a machine crash.
    Fsync,
    /// Acknowledge after the write reaches the OS: a machine crash (not a process crash) can
    /// lose the last few seconds of acknowledged data.
    None,
}

#[derive(Debug, Clone)]
pub struct ShutdownConfig {
    /// How long in-flight requests may take to finish after SIGTERM.
    pub grace_period: Duration,
}

/// All signal names, in the order they are documented.
pub const SIGNALS: [&str; 3] = ["logs", "metrics", "traces"];

const MIB: u64 = 1 << 20;
const DEFAULT_MEMORY_LIMIT: u64 = 1024 * MIB;

/// How `memory_limit` is shared out. The write buffer and flushes get what `storage` says (by default derived
/// from the limit); requests in flight and queries get fixed shares; the rest (about a third by default) is
/// for the program itself, connections, and the allocator's slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Rows not yet in Parquet files (`storage.buffer_max_size`).
    pub buffer: u64,
    /// One flush's working set: its rows copied while sorting and encoding, about three times
    /// `storage.flush_size`.
    pub flush: u64,
    /// Requests being read, decoded and stored, estimated from their size (refused past it).
    pub requests: u64,
    /// The SQL query memory pool.
    pub queries: u64,
    /// One compaction's merge (it runs beside flushes): what is left of the three quarters, at most what a
    /// flush takes at the default `storage.flush_size`.
    pub compaction: u64,
    /// The recent metric samples that rules and PromQL read from memory: a sixteenth, out of the last
    /// quarter (the program's own), not counted in [`MemoryBudget::total`].
    pub recent_samples: u64,
}

impl MemoryBudget {
    /// A flush's working set in multiples of the rows it writes, about: the rows gathered in sorted order
    /// (rows of long sorted runs are not copied) and what the Parquet writer holds while encoding them.
    pub const FLUSH_COPIES: u64 = 3;

    pub fn of(config: &Config) -> MemoryBudget {
        let limit = config.memory_limit;
        let mut budget = MemoryBudget {
            buffer: config.storage.buffer_max_size,
            flush: config.storage.flush_size.saturating_mul(Self::FLUSH_COPIES),
            requests: limit / 8,
            queries: limit / 8,
            compaction: 0,
            recent_samples: limit / 16,
        };
        let left = (limit / 4 * 3).saturating_sub(budget.total());
        budget.compaction = left.min(Self::flush_share(limit) * Self::FLUSH_COPIES);
        budget
    }

    /// The default `storage.buffer_max_size` for a memory limit.
    pub fn buffer_share(limit: u64) -> u64 {
        limit / 4
    }

    /// The default `storage.flush_size` for a memory limit: small enough that a flush's copies fit.
    pub fn flush_share(limit: u64) -> u64 {
        (limit / 32).min(64 * MIB)
    }

    /// Everything but the program's own share.
    pub fn total(&self) -> u64 {
        self.buffer + self.flush + self.requests + self.queries + self.compaction
    }
}

impl Default for Config {
    /// The embedded defaults `sightline serve` runs on without a config file.
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            log: LogConfig { format: LogFormat::Text, level: "info".to_owned() },
            otlp: OtlpConfig {
                grpc: GrpcReceiverConfig {
                    enabled: true,
                    listen: SocketAddr::from(([0, 0, 0, 0], 4317)),
                    max_message_size: 16 * MIB,
                    tls: None,
                },
                http: HttpReceiverConfig {
                    enabled: true,
                    listen: SocketAddr::from(([0, 0, 0, 0], 4318)),
                    max_body_size: 16 * MIB,
                    cors: CorsConfig {
                        allowed_origins: Vec::new(),
                        max_age: Duration::from_secs(3600),
                    },
                    tls: None,
                },
                tokens: Vec::new(),
                limits: LimitsConfig {
                    max_attributes: 128,
                    max_attribute_value_length: 8 * 1024,
                    max_items_per_request: 100_000,
                },
            },
            http: HttpConfig {
                listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
                external_url: String::new(),
            },
            auth: AuthConfig {
                admin_token: None,
                admin_password: None,
                secure_cookies: true,
                sessions: sightline_ui::auth::AuthSettings::default(),
                oidc: None,
            },
            rule_files: Vec::new(),
            rule_files_dir: PathBuf::from("."),
            evaluation_interval: Duration::from_secs(15),
            notifications: None,
            outbound: OutboundConfig::default(),
            redaction: RedactionConfig::default(),
            span_metrics: SpanMetricsConfig {
                enabled: true,
                flush_interval: Duration::from_secs(15),
                max_series: 10_000,
            },
            storage: StorageConfig {
                durability: Durability::Fsync,
                commit_delay: Duration::from_millis(1),
                wal_segment_size: 64 * MIB,
                buffer_max_size: MemoryBudget::buffer_share(DEFAULT_MEMORY_LIMIT),
                flush_size: MemoryBudget::flush_share(DEFAULT_MEMORY_LIMIT),
                flush_age: Duration::from_secs(60),
                object_store: None,
                log_bodies: LogBodies::AttributeReferences,
            },
            retention: RetentionConfig::default(),
            shutdown: ShutdownConfig { grace_period: Duration::from_secs(30) },
        }
    }
}

/// One problem in the configuration, at a dotted path (`otlp.tokens[1].name`); the path is
/// empty for problems with the file as a whole (unreadable, not YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one configuration, displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    fn single(message: String) -> Self {
        Self(vec![ConfigError { path: String::new(), message }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads the config file at `path`, or the embedded defaults when `path` is `None` (relative
/// paths then resolve against the current directory). Reads the process environment.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
    load_with(path, &ProcessEnvironment)
}

/// Loads configuration text; relative paths in it resolve against `base_dir`.
pub fn load_str(text: &str, base_dir: &Path) -> Result<Config, ConfigErrors> {
    load_str_with(text, base_dir, &ProcessEnvironment)
}

/// [`load`] with an explicit environment (variables and files), for tests and tools.
pub fn load_with(path: Option<&Path>, env: &dyn Environment) -> Result<Config, ConfigErrors> {
    let Some(path) = path else {
        return load_str_with("", Path::new("."), env);
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors::single(format!("cannot read config file {}: {error}", path.display()))
    })?;
    let base_dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    load_str_with(&text, base_dir, env)
}

/// [`load_str`] with an explicit environment (variables and files).
pub fn load_str_with(
    text: &str,
    base_dir: &Path,
    env: &dyn Environment,
) -> Result<Config, ConfigErrors> {
    let (result, _known_keys) = load_and_list_keys(text, base_dir, env);
    result
}

/// Loads and also returns every key the loader knows (schema paths like `otlp.tokens[].name`),
/// which the documentation sync test compares with `docs/configuration.md`.
fn load_and_list_keys(
    text: &str,
    base_dir: &Path,
    env: &dyn Environment,
) -> (Result<Config, ConfigErrors>, std::collections::BTreeSet<String>) {
    let value = match parse_yaml(text) {
        Ok(value) => value,
        Err(errors) => return (Err(errors), Default::default()),
    };
    let mut reader = reader::Reader::new(env, base_dir);
    let config = build::build(&mut reader, &value);
    let (errors, known_keys) = reader.into_parts();
    let result = if errors.is_empty() { Ok(config) } else { Err(ConfigErrors(errors)) };
    (result, known_keys)
}

fn parse_yaml(text: &str) -> Result<Value, ConfigErrors> {
    // An empty file (or only comments) is valid and means "all defaults".
    let mut value: Value = serde_yaml_ng::from_str(text)
        .map_err(|error| ConfigErrors::single(format!("invalid YAML: {error}")))?;
    // Resolve `<<: *anchor` merge keys so shared blocks can be reused.
    value
        .apply_merge()
        .map_err(|error| ConfigErrors::single(format!("invalid YAML merge key: {error}")))?;
    Ok(value)
}
