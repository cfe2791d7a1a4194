//! Walks the parsed YAML into a [`Config`], key by key, with validation.
//!
//! The order in which keys are read here is the order the "expected one of" hints list them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml_ng::Value;
use sightline_rules::notify::config::NotificationsConfig;
use sightline_rules::notify::integration;

use super::reader::{Node, Reader, Section};
use super::{
    AuthConfig, Config, CorsConfig, Durability, GrpcReceiverConfig, HttpConfig, HttpReceiverConfig,
    IngestTokenConfig, LimitsConfig, LogBodies, LogConfig, LogFormat, MemoryBudget,
    NotificationsSource, ObjectStoreConfig, OtlpConfig, OutboundConfig, RetentionConfig, S3Config,
    SIGNALS, ShutdownConfig, SpanMetricsConfig, StorageConfig, TlsConfig,
};

pub(crate) fn build(r: &mut Reader<'_>, value: &Value) -> Config {
    let defaults = Config::default();
    let mut root = r.root(value);

    let data_dir = r.read(&mut root, "data_dir", Reader::path).unwrap_or_else(|| r.resolve("data"));
    // The environment wins over the file, so one image can run with different data volumes.
    let data_dir = match r.env().var("SIGHTLINE_DATA_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => data_dir,
    };
    let memory_limit =
        r.read(&mut root, "memory_limit", positive_size).unwrap_or(defaults.memory_limit);
    let log = log(r, &mut root, defaults.log);
    let otlp = otlp(r, &mut root, defaults.otlp);
    let http = http(r, &mut root, defaults.http);
    let auth = auth(r, &mut root);
    let rule_files = r.read(&mut root, "rule_files", rule_files).unwrap_or(defaults.rule_files);
    let evaluation_interval = r
        .read(&mut root, "evaluation_interval", |r, n| r.duration(n).filter(|d| positive(r, n, d)))
        .unwrap_or(defaults.evaluation_interval);
    let notifications = notifications(r, &mut root);
    let outbound = outbound(r, &mut root);
    let redaction = super::redaction::redaction(r, &mut root);
    let span_metrics = span_metrics(r, &mut root, defaults.span_metrics);
    let storage_defaults = StorageConfig {
        buffer_max_size: MemoryBudget::buffer_share(memory_limit),
        flush_size: MemoryBudget::flush_share(memory_limit),
        ..defaults.storage
    };
    let storage = storage(r, &mut root, storage_defaults);
    let retention = retention(r, &mut root);
    let shutdown = shutdown(r, &mut root, defaults.shutdown);
    r.finish(root);

    check_listeners_are_distinct(r, &otlp, &http);
    let config = Config {
        data_dir,
        memory_limit,
        log,
        otlp,
        http,
        auth,
        rule_files,
        rule_files_dir: r.base_dir().to_owned(),
        evaluation_interval,
        notifications,
        outbound,
        redaction,
        span_metrics,
        storage,
        retention,
        shutdown,
    };
    let budget = MemoryBudget::of(&config);
    // The program itself needs some room too: ask for at least a quarter of the limit to be left over.
    if budget.total() > memory_limit / 4 * 3 {
        r.error(
            "storage.buffer_max_size",
            format!(
                "with storage.flush_size, needs {} MiB of memory_limit ({} MiB): raise memory_limit or lower \
                 them (the buffer, {} flush copies, and an eighth each for requests and queries must fit in \
                 three quarters of it)",
                budget.total() >> 20,
                memory_limit >> 20,
                MemoryBudget::FLUSH_COPIES,
            ),
        );
    }
    config
}

fn retention(r: &mut Reader<'_>, parent: &mut Section<'_>) -> RetentionConfig {
    let mut s = r.section(parent, "retention");
    let max_age = r.read(&mut s, "max_age", Reader::duration).unwrap_or(Duration::ZERO);
    let mut tables_section = r.section(&mut s, "tables");
    let mut tables = BTreeMap::new();
    for table in sightline_storage::Table::ALL.map(|table| table.name()) {
        if let Some(age) = r.read(&mut tables_section, table, Reader::duration) {
            tables.insert(table.to_owned(), age);
        }
    }
    r.finish(tables_section);
    r.finish(s);
    RetentionConfig { max_age, tables }
}

fn log(r: &mut Reader<'_>, parent: &mut Section<'_>, defaults: LogConfig) -> LogConfig {
    let mut s = r.section(parent, "log");
    let formats = [("text", LogFormat::Text), ("json", LogFormat::Json)];
    let format = r.read(&mut s, "format", |r, n| r.choice(n, &formats)).unwrap_or(defaults.format);
    let level = r.read(&mut s, "level", log_filter).unwrap_or(defaults.level);
    r.finish(s);
    LogConfig { format, level }
}

fn log_filter(r: &mut Reader<'_>, node: &Node<'_>) -> Option<String> {
    let level = r.string(node)?;
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&level) {
        r.error(&node.path, format!("{level:?} is not a log filter ({error})"));
        return None;
    }
    Some(level)
}

fn otlp(r: &mut Reader<'_>, parent: &mut Section<'_>, defaults: OtlpConfig) -> OtlpConfig {
    let mut s = r.section(parent, "otlp");

    let mut grpc_s = r.section(&mut s, "grpc");
    let d = defaults.grpc;
    let grpc = GrpcReceiverConfig {
        enabled: r.read(&mut grpc_s, "enabled", Reader::bool).unwrap_or(d.enabled),
        listen: r.read(&mut grpc_s, "listen", Reader::socket_addr).unwrap_or(d.listen),
        max_message_size: r
            .read(&mut grpc_s, "max_message_size", positive_size)
            .unwrap_or(d.max_message_size),
        tls: tls(r, &mut grpc_s),
    };
    r.finish(grpc_s);

    let mut http_s = r.section(&mut s, "http");
    let d = defaults.http;
    let enabled = r.read(&mut http_s, "enabled", Reader::bool).unwrap_or(d.enabled);
    let listen = r.read(&mut http_s, "listen", Reader::socket_addr).unwrap_or(d.listen);
    let max_body_size =
        r.read(&mut http_s, "max_body_size", positive_size).unwrap_or(d.max_body_size);
    let mut cors_s = r.section(&mut http_s, "cors");
    let cors = CorsConfig {
        allowed_origins: r
            .read(&mut cors_s, "allowed_origins", |r, n| checked_list(r, n, check_origin))
            .unwrap_or(d.cors.allowed_origins),
        max_age: r.read(&mut cors_s, "max_age", Reader::duration).unwrap_or(d.cors.max_age),
    };
    r.finish(cors_s);
    let tls = tls(r, &mut http_s);
    r.finish(http_s);
    let http = HttpReceiverConfig { enabled, listen, max_body_size, cors, tls };

    let tokens = r.read(&mut s, "tokens", |r, n| Some(tokens(r, n))).unwrap_or_default();

    let mut limits_s = r.section(&mut s, "limits");
    let d = defaults.limits;
    let limits = LimitsConfig {
        max_attributes: r
            .read(&mut limits_s, "max_attributes", |r, n| {
                r.u32(n).filter(|v| positive(r, n, &u64::from(*v)))
            })
            .unwrap_or(d.max_attributes),
        max_attribute_value_length: r
            .read(&mut limits_s, "max_attribute_value_length", positive_size)
            .unwrap_or(d.max_attribute_value_length),
        max_items_per_request: r
            .read(&mut limits_s, "max_items_per_request", |r, n| {
                r.u64(n).filter(|v| positive(r, n, v))
            })
            .unwrap_or(d.max_items_per_request),
    };
    r.finish(limits_s);
    r.finish(s);
    OtlpConfig { grpc, http, tokens, limits }
}

/// TLS is on when `cert_file` and `key_file` are both set, off when neither is.
fn tls(r: &mut Reader<'_>, parent: &mut Section<'_>) -> Option<TlsConfig> {
    let mut s = r.section(parent, "tls");
    let cert_file = r.read(&mut s, "cert_file", Reader::existing_file);
    let key_file = r.read(&mut s, "key_file", Reader::existing_file);
    let client_ca_file = r.read(&mut s, "client_ca_file", Reader::existing_file);
    let (cert_path, key_path) = (s.child_path("cert_file"), s.child_path("key_file"));
    let section_path = s.path().to_owned();
    r.finish(s);
    match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => {
            Some(TlsConfig { cert_file, key_file, client_ca_file })
        }
        (Some(_), None) => {
            r.error(&key_path, "required field is missing (cert_file is set)");
            None
        }
        (None, Some(_)) => {
            r.error(&cert_path, "required field is missing (key_file is set)");
            None
        }
        (None, None) => {
            if client_ca_file.is_some() {
                r.error(&section_path, "client_ca_file needs cert_file and key_file");
            }
            None
        }
    }
}

fn tokens(r: &mut Reader<'_>, node: &Node<'_>) -> Vec<IngestTokenConfig> {
    let mut tokens: Vec<(String, IngestTokenConfig)> = Vec::new();
    for item in r.list(node) {
        let mut s = r.node_section(&item);
        let name = r.read(&mut s, "name", Reader::string).filter(|name| !name.is_empty());
        let token = r.secret(&mut s, "token", "token_file");
        let signals = r
            .read(&mut s, "signals", |r, n| checked_list(r, n, check_signal))
            .unwrap_or_else(|| SIGNALS.map(str::to_owned).to_vec());
        let name_path = s.child_path("name");
        r.finish(s);
        let signals_path = format!("{}.signals", item.path);
        if signals.is_empty() && r.has_no_error_under(&signals_path) {
            r.error(&signals_path, "must name at least one of: logs, metrics, traces");
        }
        let Some(name) = name else {
            r.error(&name_path, "required field is missing");
            continue;
        };
        let Some(token) = token else {
            if r.has_no_error_under(&item.path) {
                r.error(&item.path, "token or token_file is required");
            }
            continue;
        };
        if let Some((other, _)) = tokens.iter().find(|(_, t)| t.name == name) {
            r.error(&name_path, format!("duplicate token name {name:?} (also {other})"));
        } else if let Some((other, _)) =
            tokens.iter().find(|(_, t)| t.token.expose() == token.expose())
        {
            // Never print the value; naming the other entry is enough to find it.
            r.error(&item.path, format!("same token value as {other}; give each client its own"));
        }
        tokens.push((item.path.clone(), IngestTokenConfig { name, token, signals }));
    }
    tokens.into_iter().map(|(_, token)| token).collect()
}

fn http(r: &mut Reader<'_>, parent: &mut Section<'_>, defaults: HttpConfig) -> HttpConfig {
    let mut s = r.section(parent, "http");
    let listen = r.read(&mut s, "listen", Reader::socket_addr).unwrap_or(defaults.listen);
    let external_url =
        r.read(&mut s, "external_url", external_url).unwrap_or(defaults.external_url);
    r.finish(s);
    HttpConfig { listen, external_url }
}

fn auth(r: &mut Reader<'_>, parent: &mut Section<'_>) -> AuthConfig {
    let mut s = r.section(parent, "auth");
    let admin_token = r.secret(&mut s, "admin_token", "admin_token_file");
    let admin_password = r.secret(&mut s, "admin_password", "admin_password_file");
    let defaults = sightline_ui::auth::AuthSettings::default();
    let secure_cookies = r.read(&mut s, "secure_cookies", Reader::bool).unwrap_or(true);
    let max_failed_logins = r
        .read(&mut s, "max_failed_logins", |r, n| r.u32(n).filter(|v| positive(r, n, v)))
        .unwrap_or(defaults.max_failed_logins);
    let lockout = r.read(&mut s, "lockout", positive_duration).unwrap_or(defaults.lockout);
    let audit_retention =
        r.read(&mut s, "audit_retention", positive_duration).unwrap_or(defaults.audit_retention);
    let session_idle =
        r.read(&mut s, "session_idle", positive_duration).unwrap_or(defaults.session_idle);
    let session_max =
        r.read(&mut s, "session_max", positive_duration).unwrap_or(defaults.session_max);
    let oidc = super::oidc::oidc(r, &mut s);
    r.finish(s);
    // The file wins; the environment variables are the fallback for a file-less setup.
    let from_env = |name: &str| r.env().var(name).filter(|v| !v.is_empty()).map(super::Secret::new);
    AuthConfig {
        admin_token: admin_token.or_else(|| from_env("SIGHTLINE_ADMIN_TOKEN")),
        admin_password: admin_password.or_else(|| from_env("SIGHTLINE_ADMIN_PASSWORD")),
        secure_cookies,
        oidc,
        sessions: sightline_ui::auth::AuthSettings {
            max_failed_logins,
            lockout,
            audit_retention,
            session_idle,
            session_max,
        },
    }
}

fn rule_files(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Vec<String>> {
    checked_list(r, node, |glob| {
        if glob.is_empty() { Err("a rule file glob must not be empty".to_owned()) } else { Ok(()) }
    })
}

fn outbound(r: &mut Reader<'_>, parent: &mut Section<'_>) -> OutboundConfig {
    let mut s = r.section(parent, "outbound");
    let allow = r.read(&mut s, "allow", |r, n| checked_list(r, n, check_outbound_entry));
    let defaults = OutboundConfig::default();
    let mut retry = r.section(&mut s, "retry");
    let retry_initial = r.read(&mut retry, "initial", positive_duration);
    let retry_max = r.read(&mut retry, "max", positive_duration);
    let retry_for = r.read(&mut retry, "give_up_after", positive_duration);
    r.finish(retry);
    let mut breaker = r.section(&mut s, "breaker");
    let breaker_failures = r.read(&mut breaker, "failures", |r, n| {
        r.u64(n).filter(|failures| positive(r, n, failures))
    });
    let breaker_open_for = r.read(&mut breaker, "open_for", positive_duration);
    r.finish(breaker);
    r.finish(s);
    OutboundConfig {
        allow: allow.unwrap_or_default(),
        retry_initial: retry_initial.unwrap_or(defaults.retry_initial),
        retry_max: retry_max.unwrap_or(defaults.retry_max),
        retry_for: retry_for.unwrap_or(defaults.retry_for),
        breaker_failures: breaker_failures
            .map_or(defaults.breaker_failures, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        breaker_open_for: breaker_open_for.unwrap_or(defaults.breaker_open_for),
    }
}

fn storage(r: &mut Reader<'_>, parent: &mut Section<'_>, defaults: StorageConfig) -> StorageConfig {
    let mut s = r.section(parent, "storage");
    let choices = [("fsync", Durability::Fsync), ("none", Durability::None)];
    let durability =
        r.read(&mut s, "durability", |r, n| r.choice(n, &choices)).unwrap_or(defaults.durability);
    let commit_delay =
        r.read(&mut s, "commit_delay", Reader::duration).unwrap_or(defaults.commit_delay);
    let wal_segment_size =
        r.read(&mut s, "wal_segment_size", positive_size).unwrap_or(defaults.wal_segment_size);
    let buffer_max_size =
        r.read(&mut s, "buffer_max_size", positive_size).unwrap_or(defaults.buffer_max_size);
    let flush_size = r.read(&mut s, "flush_size", positive_size).unwrap_or(defaults.flush_size);
    let flush_age = r
        .read(&mut s, "flush_age", |r, n| r.duration(n).filter(|d| positive(r, n, d)))
        .unwrap_or(defaults.flush_age);
    if flush_size > buffer_max_size {
        r.error("storage.flush_size", "must not exceed storage.buffer_max_size".to_owned());
    }
    let object_store = object_store(r, &mut s);
    let choices =
        [("attribute_references", LogBodies::AttributeReferences), ("as_sent", LogBodies::AsSent)];
    let log_bodies =
        r.read(&mut s, "log_bodies", |r, n| r.choice(n, &choices)).unwrap_or(defaults.log_bodies);
    r.finish(s);
    StorageConfig {
        durability,
        commit_delay,
        wal_segment_size,
        buffer_max_size,
        flush_size,
        flush_age,
        object_store,
        log_bodies,
    }
}

fn object_store(r: &mut Reader<'_>, parent: &mut Section<'_>) -> Option<ObjectStoreConfig> {
    let mut s = r.section(parent, "object_store");
    let mut s3_s = r.section(&mut s, "s3");
    let non_empty = |r: &mut Reader<'_>, n: &Node<'_>| r.string(n).filter(|v| !v.is_empty());
    let bucket = r.read(&mut s3_s, "bucket", Reader::string);
    let region = r.read(&mut s3_s, "region", non_empty);
    let endpoint = r.read(&mut s3_s, "endpoint", |r, n| {
        let endpoint = non_empty(r, n)?;
        if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            Some(endpoint)
        } else {
            r.error(&n.path, format!("{endpoint:?} is not an http:// or https:// URL"));
            None
        }
    });
    let prefix = r.read(&mut s3_s, "prefix", non_empty);
    let access_key_id = r.secret(&mut s3_s, "access_key_id", "access_key_id_file");
    let secret_access_key = r.secret(&mut s3_s, "secret_access_key", "secret_access_key_file");
    let allow_http = r.read(&mut s3_s, "allow_http", Reader::bool).unwrap_or(false);
    let (s3_present, s3_path) = (s3_s.is_present(), s3_s.path().to_owned());
    r.finish(s3_s);
    let (present, path) = (s.is_present(), s.path().to_owned());
    r.finish(s);
    if !s3_present {
        if present {
            r.error(&path, "name a store: s3");
        }
        return None;
    }
    let Some(bucket) = bucket.filter(|b| !b.is_empty()) else {
        r.error(&format!("{s3_path}.bucket"), "required field is missing");
        return None;
    };
    if endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) && !allow_http {
        r.error(&format!("{s3_path}.endpoint"), "a plain http:// endpoint needs allow_http: true");
    }
    Some(ObjectStoreConfig::S3(S3Config {
        bucket,
        region,
        endpoint,
        prefix,
        access_key_id,
        secret_access_key,
        allow_http,
    }))
}

fn span_metrics(
    r: &mut Reader<'_>,
    parent: &mut Section<'_>,
    defaults: SpanMetricsConfig,
) -> SpanMetricsConfig {
    let mut s = r.section(parent, "span_metrics");
    let enabled = r.read(&mut s, "enabled", Reader::bool).unwrap_or(defaults.enabled);
    let flush_interval = r
        .read(&mut s, "flush_interval", |r, n| r.duration(n).filter(|d| positive(r, n, d)))
        .unwrap_or(defaults.flush_interval);
    let max_series = r
        .read(&mut s, "max_series", |r, n| r.u64(n).filter(|v| positive(r, n, v)))
        .unwrap_or(defaults.max_series);
    r.finish(s);
    SpanMetricsConfig { enabled, flush_interval, max_series }
}

fn shutdown(
    r: &mut Reader<'_>,
    parent: &mut Section<'_>,
    defaults: ShutdownConfig,
) -> ShutdownConfig {
    let mut s = r.section(parent, "shutdown");
    let grace_period =
        r.read(&mut s, "grace_period", Reader::duration).unwrap_or(defaults.grace_period);
    r.finish(s);
    ShutdownConfig { grace_period }
}

/// `notifications_file` or `notifications:`: an `alertmanager.yml`, or the same content inline, that must
/// pass Alertmanager's checks; each of its problems is reported under the key that gave it.
fn notifications(r: &mut Reader<'_>, root: &mut Section<'_>) -> Option<NotificationsSource> {
    let file = r.read(root, "notifications_file", notifications_file);
    let inline = r.read(root, "notifications", inline_notifications);
    match (file, inline) {
        (Some(_), Some(_)) => {
            r.error("notifications", "set either notifications or notifications_file, not both");
            None
        }
        (file, inline) => file.or(inline),
    }
}

fn notifications_file(r: &mut Reader<'_>, node: &Node<'_>) -> Option<NotificationsSource> {
    let path = r.existing_file(node)?;
    if !r.env().file_exists(&path) {
        return Some(NotificationsSource::File(path));
    }
    match r.env().read_file(&path) {
        Ok(text) => {
            let base_dir = path.parent().unwrap_or(Path::new("."));
            check_notifications(r, &node.path, NotificationsConfig::parse(&text), base_dir);
        }
        Err(error) => r.error(&node.path, format!("reading {}: {error}", path.display())),
    }
    Some(NotificationsSource::File(path))
}

/// The inline form: every string in it gets `${VAR}` substitution, as everywhere else in this file, and
/// the result is kept as YAML text, so that both forms go through the same Alertmanager parser.
fn inline_notifications(r: &mut Reader<'_>, node: &Node<'_>) -> Option<NotificationsSource> {
    let substituted = substitute_strings(r, &node.path, node.value())?;
    let text = serde_yaml_ng::to_string(&substituted)
        .map_err(|error| r.error(&node.path, format!("cannot be written as YAML: {error}")))
        .ok()?;
    let base_dir = r.base_dir().to_owned();
    check_notifications(r, &node.path, NotificationsConfig::parse(&text), &base_dir);
    Some(NotificationsSource::Inline { text: super::Secret::new(text), base_dir })
}

/// A copy of `value` with `${VAR}` substituted in every string; `None` (with the errors recorded at their
/// paths) when a substitution fails.
fn substitute_strings(r: &mut Reader<'_>, path: &str, value: &Value) -> Option<Value> {
    Some(match value {
        Value::String(text) => match super::environment::substitute(text, r.env()) {
            Ok(text) => Value::String(text),
            Err(messages) => {
                messages.into_iter().for_each(|message| r.error(path, message));
                return None;
            }
        },
        Value::Sequence(items) => {
            let items: Vec<Option<Value>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| substitute_strings(r, &format!("{path}[{index}]"), item))
                .collect();
            Value::Sequence(items.into_iter().collect::<Option<_>>()?)
        }
        Value::Mapping(mapping) => {
            let mut out = serde_yaml_ng::Mapping::new();
            let mut ok = true;
            for (key, item) in mapping {
                let key_text = key.as_str().map_or_else(|| format!("{key:?}"), str::to_owned);
                match substitute_strings(r, &format!("{path}.{key_text}"), item) {
                    Some(item) => {
                        out.insert(key.clone(), item);
                    }
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Value::Mapping(out)
        }
        Value::Tagged(tagged) => substitute_strings(r, path, &tagged.value)?,
        other => other.clone(),
    })
}

/// `http.external_url`: an absolute http(s) URL; kept without its trailing slash so that paths can be
/// appended.
fn external_url(r: &mut Reader<'_>, node: &Node<'_>) -> Option<String> {
    let text = r.string(node)?;
    if text.is_empty() {
        return Some(text);
    }
    match reqwest::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(text.trim_end_matches('/').to_owned())
        }
        _ => {
            r.error(&node.path, format!("{text:?} is not an absolute http or https URL"));
            None
        }
    }
}

/// Alertmanager's checks; then, if they pass, the receivers are built as the daemon builds them (files,
/// addresses, TLS settings, templates).
fn check_notifications(
    r: &mut Reader<'_>,
    path: &str,
    parsed: Result<NotificationsConfig, String>,
    base_dir: &Path,
) {
    let config = match parsed {
        Ok(config) => config,
        Err(error) => return r.error(path, error),
    };
    let checked = integration::check(&config, base_dir);
    if let Err(problems) = config.check().and(checked) {
        problems.into_iter().for_each(|problem| r.error(path, problem));
    }
}

/// Two enabled listeners on the same address would fail at bind time; say so now, with paths.
fn check_listeners_are_distinct(r: &mut Reader<'_>, otlp: &OtlpConfig, http: &HttpConfig) {
    let mut listeners: Vec<(&str, SocketAddr)> = vec![("http.listen", http.listen)];
    if otlp.grpc.enabled {
        listeners.push(("otlp.grpc.listen", otlp.grpc.listen));
    }
    if otlp.http.enabled {
        listeners.push(("otlp.http.listen", otlp.http.listen));
    }
    for (index, (path, addr)) in listeners.iter().enumerate() {
        let earlier = listeners[..index].iter().find(|(_, other)| other == addr);
        if let Some((other_path, _)) = earlier.filter(|_| addr.port() != 0) {
            r.error(path, format!("{addr} is already used by {other_path}"));
        }
    }
}

/// Records "must be greater than 0" and returns false for zero values.
fn positive<T: Default + PartialEq>(r: &mut Reader<'_>, node: &Node<'_>, value: &T) -> bool {
    let ok = *value != T::default();
    if !ok {
        r.error(&node.path, "must be greater than 0");
    }
    ok
}

fn positive_duration(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Duration> {
    r.duration(node).filter(|duration| positive(r, node, duration))
}

fn positive_size(r: &mut Reader<'_>, node: &Node<'_>) -> Option<u64> {
    r.size(node).filter(|size| positive(r, node, size))
}

/// A list of strings where each item is checked; bad items are reported at their index.
pub(super) fn checked_list(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    check: fn(&str) -> Result<(), String>,
) -> Option<Vec<String>> {
    let mut values = Vec::new();
    for item in r.list(node) {
        let Some(value) = r.string(&item) else { continue };
        match check(&value) {
            Ok(()) => values.push(value),
            Err(message) => r.error(&item.path, message),
        }
    }
    Some(values)
}

pub(super) fn check_signal(signal: &str) -> Result<(), String> {
    if SIGNALS.contains(&signal) {
        Ok(())
    } else {
        Err(format!("{signal:?} is not a signal (expected one of: logs, metrics, traces)"))
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    let host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    if origin == "*" || host.is_some_and(|host| !host.is_empty() && !host.contains('/')) {
        Ok(())
    } else {
        Err(format!("{origin:?} is not an origin (use \"*\" or e.g. https://app.example.com)"))
    }
}

/// An outbound allow entry is a CIDR, an IP address, or a host name (optionally `*.` wildcard).
fn check_outbound_entry(entry: &str) -> Result<(), String> {
    if let Some((address, prefix)) = entry.split_once('/') {
        let max_prefix = match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => 32,
            Ok(IpAddr::V6(_)) => 128,
            Err(_) => {
                return Err(format!("{entry:?} is not a CIDR (use e.g. 10.0.0.0/8, fd00::/8)"));
            }
        };
        return match prefix.parse::<u8>() {
            Ok(bits) if bits <= max_prefix => Ok(()),
            _ => Err(format!("{entry:?} has an invalid prefix length (0 to {max_prefix})")),
        };
    }
    if entry.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    // Digits and dots only, or any colon, means an IP address was meant: do not accept it as a
    // host name, or a typo like 10.0.0.300 would silently never match.
    if entry.contains(':') || entry.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("{entry:?} is not an IP address"));
    }
    let name = entry.strip_prefix("*.").unwrap_or(entry);
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() <= 253 && name.split('.').all(valid_label) {
        Ok(())
    } else {
        Err(format!("{entry:?} is not a host name, IP address or CIDR"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_entries_accept_cidrs_addresses_and_host_names() {
        for good in ["10.0.0.0/8", "fd00::/8", "127.0.0.1", "::1", "hooks.internal", "*.corp.lan"] {
            assert_eq!(check_outbound_entry(good), Ok(()), "{good}");
        }
        for bad in ["10.0.0.0/33", "10.0.0.300", "10.0.0/8", "fd00::/129", "bad host", "-a.b", ""] {
            assert!(check_outbound_entry(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn origins_are_star_or_scheme_and_host() {
        assert!(check_origin("*").is_ok());
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("app.example.com").is_err());
        assert!(check_origin("https://app.example.com/path").is_err());
    }
}
