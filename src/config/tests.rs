//! Loader tests through the public functions, plus the documentation sync test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::environment::fake::FakeEnvironment;
use super::*;

const BASE: &str = "/etc/sightline";

fn load_ok(text: &str, env: &FakeEnvironment) -> Config {
    match load_str_with(text, Path::new(BASE), env) {
        Ok(config) => config,
        Err(errors) => panic!("expected a valid config, got:\n{errors}"),
    }
}

fn load_errors(text: &str, env: &FakeEnvironment) -> Vec<String> {
    match load_str_with(text, Path::new(BASE), env) {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn empty_file_gives_all_defaults_with_data_dir_next_to_the_file() {
    let config = load_ok("", &FakeEnvironment::default());
    assert_eq!(config.data_dir, PathBuf::from("/etc/sightline/data"));
    assert_eq!(config.otlp.grpc.listen.to_string(), "0.0.0.0:4317");
    assert_eq!(config.otlp.http.listen.to_string(), "0.0.0.0:4318");
    assert_eq!(config.http.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(config.otlp.grpc.max_message_size, 16 << 20);
    assert_eq!(config.otlp.limits.max_attribute_value_length, 8192);
    assert_eq!(config.evaluation_interval, Duration::from_secs(15));
    assert_eq!(config.storage.durability, Durability::Fsync);
    assert_eq!(config.storage.log_bodies, LogBodies::AttributeReferences);
    assert_eq!(config.log.format, LogFormat::Text);
    assert!(config.auth.admin_token.is_none() && config.otlp.tokens.is_empty());
    let as_sent = load_ok("storage: { log_bodies: as_sent }", &FakeEnvironment::default());
    assert_eq!(as_sent.storage.log_bodies, LogBodies::AsSent);
    let comments_only = load_ok("# nothing here yet\n", &FakeEnvironment::default());
    assert_eq!(comments_only.shutdown.grace_period, Duration::from_secs(30));
}

#[test]
fn no_file_means_data_dir_relative_to_the_current_directory() {
    let config = load_with(None, &FakeEnvironment::default()).expect("defaults are valid");
    assert_eq!(config.data_dir, PathBuf::from("./data"));
}

#[test]
fn every_error_is_reported_at_once_with_its_path() {
    let text = r#"
otlp:
  grpc: { lisen: "0.0.0.0:4317" }
  http: { max_body_size: "16 MiBs", listen: "localhost:4318" }
  tokens:
    - name: a
      token: t1
    - name: b
      token: t2
      signals: [logs, log]
evaluation_interval: 15 seconds
storage: { durability: sometimes, log_bodies: raw }
"#;
    let errors = load_errors(text, &FakeEnvironment::default());
    assert_eq!(
        errors,
        [
            "otlp.grpc.lisen: unknown field (expected one of: enabled, listen, max_message_size, tls)",
            "otlp.http.listen: \"localhost:4318\" is not a listen address (use e.g. 0.0.0.0:8080 or [::]:8080)",
            "otlp.http.max_body_size: \"16 MiBs\" is not a size (use e.g. 16MiB, 512KiB, 1GB)",
            "otlp.tokens[1].signals[1]: \"log\" is not a signal (expected one of: logs, metrics, traces)",
            "evaluation_interval: \"15 seconds\" is not a duration (use e.g. 500ms, 15s, 1m30s, 2h, 1d)",
            "storage.durability: \"sometimes\" is not one of: fsync, none",
            "storage.log_bodies: \"raw\" is not one of: attribute_references, as_sent",
        ]
    );
}

#[test]
fn yaml_syntax_errors_are_one_error_with_line_and_column() {
    let errors = load_errors("otlp:\n  grpc: [\n", &FakeEnvironment::default());
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("invalid YAML: "), "{errors:?}");
    assert!(errors[0].contains("line 3"), "{errors:?}");
}

#[test]
fn anchors_and_merge_keys_work_and_duplicate_keys_are_errors() {
    let text = "x-tls: &tls { cert_file: a.crt, key_file: a.key }\n";
    let errors = load_errors(text, &FakeEnvironment::default());
    assert!(errors[0].starts_with("x-tls: unknown field"), "{errors:?}");

    let env = FakeEnvironment::default().with_file("/etc/sightline/a.crt", "");
    let env = env.with_file("/etc/sightline/a.key", "");
    let text = "otlp:\n  grpc: { tls: &tls { cert_file: a.crt, key_file: a.key } }\n  http: { tls: { <<: *tls } }\n";
    let config = load_ok(text, &env);
    assert!(config.otlp.http.tls.is_some());

    let errors = load_errors("http: { listen: \"0.0.0.0:1\" }\nhttp: {}\n", &env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("duplicate"), "{errors:?}");
}

#[test]
fn substitution_errors_do_not_echo_the_value() {
    let errors =
        load_errors("auth: { admin_password: \"hunter2${\" }", &FakeEnvironment::default());
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("auth.admin_password: unclosed"), "{errors:?}");
    assert!(!errors[0].contains("hunter2"), "{errors:?}");
}

#[test]
fn missing_config_file_is_one_error_naming_it() {
    let path = Path::new("/nonexistent/sightline.yaml");
    let errors = load_with(Some(path), &FakeEnvironment::default()).expect_err("no such file");
    assert_eq!(errors.len(), 1);
    assert!(errors.to_string().contains("/nonexistent/sightline.yaml"), "{errors}");
}

#[test]
fn wrong_shapes_are_type_errors_not_crashes() {
    let errors = load_errors(
        "otlp: [1, 2]\nrule_files: rules/*.yaml\nlog: { level: 3 }\n",
        &FakeEnvironment::default(),
    );
    assert_eq!(
        errors,
        ["otlp: expected a mapping, got a list", "rule_files: expected a list, got a string"]
    );
    let errors = load_errors("- a\n- b\n", &FakeEnvironment::default());
    assert_eq!(errors, ["expected a mapping of keys to values at the top, got a list"]);
}

#[test]
fn variables_are_substituted_in_every_kind_of_value() {
    let env = FakeEnvironment::default()
        .with_var("MAX_ATTRS", "64")
        .with_var("GRPC_ON", "false")
        .with_var("PORT", "14317");
    let text = "otlp:\n  grpc: { enabled: \"${GRPC_ON}\", listen: \"0.0.0.0:${PORT}\" }\n  limits: { max_attributes: \"${MAX_ATTRS}\", max_attribute_value_length: \"${MAX_LEN:-1KiB}\" }\n";
    let config = load_ok(text, &env);
    assert!(!config.otlp.grpc.enabled);
    assert_eq!(config.otlp.grpc.listen.port(), 14317);
    assert_eq!(config.otlp.limits.max_attributes, 64);
    assert_eq!(config.otlp.limits.max_attribute_value_length, 1024);
}

#[test]
fn unset_variable_without_default_is_an_error_at_its_path() {
    let errors = load_errors("http: { listen: \"${LISTEN}\" }", &FakeEnvironment::default());
    assert_eq!(
        errors,
        [
            "http.listen: environment variable LISTEN is not set (use ${LISTEN:-default} for a default)"
        ]
    );
}

#[test]
fn the_notifications_file_is_checked_as_alertmanager_checks_it() {
    let good = "route: { receiver: team }\nreceivers: [{ name: team, webhook_configs: [{ url: 'http://hooks.internal/a' }] }]\n";
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", good);
    let config = load_ok("notifications_file: alertmanager.yml\n", &env);
    let source = config.notifications.expect("notifications");
    assert!(
        matches!(&source, NotificationsSource::File(path) if path == Path::new("/etc/sightline/alertmanager.yml")),
        "{source:?}"
    );
    assert_eq!(source.base_dir(), Path::new("/etc/sightline"));

    let bad = "route: { receiver: nobody, group_wait: soon }\nreceivers: [{ name: team, opsgenie_configs: [] }]\n";
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", bad);
    let errors = load_errors("notifications_file: alertmanager.yml\n", &env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("notifications_file: receivers[0]: unknown field `opsgenie_configs`"),
        "{errors:?}"
    );

    let wrong = "route: { receiver: nobody, group_wait: soon }\nreceivers: [{ name: team }]\n";
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", wrong);
    let errors = load_errors("notifications_file: alertmanager.yml\n", &env);
    assert_eq!(
        errors,
        [
            r#"notifications_file: route.group_wait: not a valid duration string: "soon""#,
            r#"notifications_file: route: receiver "nobody" does not exist"#,
        ]
    );
    let templated = "route: { receiver: team }\ntemplates: [missing.tmpl]\nreceivers: [{ name: team, slack_configs: [{ api_url: 'https://hooks.slack.com/x', title: '{{ humanize 1 }}' }] }]\n";
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", templated);
    let errors = load_errors("notifications_file: alertmanager.yml\n", &env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("notifications_file: templates: "), "{errors:?}");
    assert!(errors[0].contains("/etc/sightline/missing.tmpl"), "{errors:?}");
    let templated = templated.replace("templates: [missing.tmpl]\n", "");
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", &templated);
    let errors = load_errors("notifications_file: alertmanager.yml\n", &env);
    assert_eq!(
        errors,
        [
            r#"notifications_file: error parsing template receivers[0].slack_configs[0].title: template: receivers[0].slack_configs[0].title:1: function "humanize" not defined"#
        ]
    );
    // The receivers are built as the daemon builds them: what only building finds is reported too.
    let unbuildable = "route: { receiver: team }\nreceivers: [{ name: team, webhook_configs: [{ url_file: /nonexistent/hook-url, http_config: { tls_config: { server_name: hooks.internal } } }] }]\n";
    let env = FakeEnvironment::default().with_file("/etc/sightline/alertmanager.yml", unbuildable);
    let errors = load_errors("notifications_file: alertmanager.yml\n", &env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("notifications_file: receivers[0].webhook_configs[0]: ")
            && errors[0].contains("/nonexistent/hook-url"),
        "{errors:?}"
    );
    let errors = load_errors("notifications_file: missing.yml\n", &FakeEnvironment::default());
    assert_eq!(errors, ["notifications_file: file /etc/sightline/missing.yml does not exist"]);
}

#[test]
fn inline_notifications_are_substituted_checked_and_never_printed() {
    let env = FakeEnvironment::default().with_var("HOOK", "https://hooks.example.com/T0KEN");
    let text = "notifications:\n  route: { receiver: team, group_by: ['...'] }\n  receivers:\n    - name: team\n      webhook_configs: [{ url: '${HOOK}', max_alerts: 5 }]\n";
    let config = load_ok(text, &env);
    let source = config.notifications.clone().expect("notifications");
    assert_eq!(source.base_dir(), Path::new("/etc/sightline"));
    let yaml = source.read().expect("inline text");
    let parsed = sightline_rules::notify::config::NotificationsConfig::parse(&yaml).expect("yaml");
    assert_eq!(
        parsed.receivers[0].webhook_configs[0].url.as_deref(),
        Some("https://hooks.example.com/T0KEN")
    );
    assert_eq!(parsed.receivers[0].webhook_configs[0].max_alerts, Some(5));
    assert!(!format!("{config:?}").contains("T0KEN"), "Debug must not show the inline receivers");

    let bad = "notifications:\n  route: { receiver: nobody }\n  receivers: [{ name: team, pagerduty_configs: [] }]\n";
    let errors = load_errors(bad, &env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("notifications: receivers[0]: unknown field `pagerduty_configs`"),
        "{errors:?}"
    );

    let unset = "notifications:\n  route: { receiver: team }\n  receivers: [{ name: team, webhook_configs: [{ url: '${NOPE}' }] }]\n";
    let errors = load_errors(unset, &env);
    assert_eq!(
        errors,
        [
            "notifications.receivers[0].webhook_configs[0].url: environment variable NOPE is not set (use ${NOPE:-default} for a default)"
        ]
    );

    let file = "route: { receiver: team }\nreceivers: [{ name: team }]\n";
    let env = env.with_file("/etc/sightline/alertmanager.yml", file);
    let both = format!("notifications_file: alertmanager.yml\n{text}");
    let errors = load_errors(&both, &env);
    assert_eq!(errors, ["notifications: set either notifications or notifications_file, not both"]);
}

#[test]
fn the_external_url_must_be_an_absolute_http_url_and_loses_its_trailing_slash() {
    let env = FakeEnvironment::default();
    let config = load_ok("http: { external_url: 'https://sightline.example.com/' }\n", &env);
    assert_eq!(config.http.external_url, "https://sightline.example.com");
    assert_eq!(load_ok("", &env).http.external_url, "");
    let errors = load_errors("http: { external_url: 'sightline.example.com' }\n", &env);
    assert_eq!(
        errors,
        [r#"http.external_url: "sightline.example.com" is not an absolute http or https URL"#]
    );
}

#[test]
fn secret_files_are_read_relative_to_the_config_and_trimmed() {
    let env = FakeEnvironment::default()
        .with_file("/etc/sightline/secrets/admin", "s3cret\n\n")
        .with_file("/run/secrets/ingest", "ingest-token\r\n");
    let text = "auth: { admin_token_file: secrets/admin }\notlp:\n  tokens: [{ name: app, token_file: /run/secrets/ingest }]\n";
    let config = load_ok(text, &env);
    assert_eq!(config.auth.admin_token.as_ref().map(Secret::expose), Some("s3cret"));
    assert_eq!(config.otlp.tokens[0].token.expose(), "ingest-token");
    assert_eq!(config.otlp.tokens[0].signals, ["logs", "metrics", "traces"]);
    assert!(!format!("{config:?}").contains("s3cret"), "Debug must not show secrets");
}

#[test]
fn secret_file_errors_name_the_file_and_conflicts_are_reported() {
    let env = FakeEnvironment::default().with_file("/etc/sightline/empty", "\n");
    let text = "auth:\n  admin_token: abc\n  admin_token_file: /run/secrets/x\n  admin_password_file: missing\notlp:\n  tokens: [{ name: a, token_file: empty }, { name: b }]\n";
    let errors = load_errors(text, &env);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert_eq!(errors[0], "otlp.tokens[0].token_file: secret file /etc/sightline/empty is empty");
    assert_eq!(errors[1], "otlp.tokens[1]: token or token_file is required");
    assert_eq!(errors[2], "auth.admin_token: set either admin_token or admin_token_file, not both");
    assert!(
        errors[3].starts_with(
            "auth.admin_password_file: cannot read secret file /etc/sightline/missing: "
        )
    );
}

#[test]
fn token_names_and_values_must_be_unique() {
    let text = "otlp:\n  tokens:\n    - { name: a, token: one }\n    - { name: a, token: two }\n    - { name: c, token: one }\n";
    let errors = load_errors(text, &FakeEnvironment::default());
    assert_eq!(
        errors,
        [
            "otlp.tokens[1].name: duplicate token name \"a\" (also otlp.tokens[0])",
            "otlp.tokens[2]: same token value as otlp.tokens[0]; give each client its own",
        ]
    );
}

#[test]
fn environment_overrides_data_dir_and_fills_in_admin_credentials() {
    let env = FakeEnvironment::default()
        .with_var("SIGHTLINE_DATA_DIR", "/srv/data")
        .with_var("SIGHTLINE_ADMIN_TOKEN", "from-env")
        .with_var("SIGHTLINE_ADMIN_PASSWORD", "pw-from-env");
    let config = load_ok("data_dir: /var/lib/x\nauth: { admin_password: from-file }", &env);
    assert_eq!(config.data_dir, PathBuf::from("/srv/data"));
    assert_eq!(config.auth.admin_token.as_ref().map(Secret::expose), Some("from-env"));
    assert_eq!(config.auth.admin_password.as_ref().map(Secret::expose), Some("from-file"));
}

#[test]
fn tls_needs_both_files_and_they_must_exist() {
    let env = FakeEnvironment::default()
        .with_file("/etc/sightline/tls/a.crt", "")
        .with_file("/etc/sightline/tls/a.key", "");
    let config =
        load_ok("otlp:\n  grpc: { tls: { cert_file: tls/a.crt, key_file: tls/a.key } }", &env);
    let tls = config.otlp.grpc.tls.expect("tls is on");
    assert_eq!(tls.key_file, PathBuf::from("/etc/sightline/tls/a.key"));
    assert!(config.otlp.http.tls.is_none());

    let text = "otlp:\n  grpc: { tls: { cert_file: tls/a.crt } }\n  http: { tls: { cert_file: x.crt, key_file: tls/a.key } }";
    let errors = load_errors(text, &env);
    assert_eq!(
        errors,
        [
            "otlp.grpc.tls.key_file: required field is missing (cert_file is set)",
            "otlp.http.tls.cert_file: file /etc/sightline/x.crt does not exist",
        ]
    );
}

#[test]
fn values_are_validated_beyond_their_type() {
    let text = r#"
log: { level: "info,sightline=loud" }
otlp:
  limits: { max_attributes: 0, max_items_per_request: -1 }
  tokens: [{ name: a, token: t, signals: [] }]
http: { listen: "0.0.0.0:4317" }
outbound: { allow: ["10.0.0.0/40", "hooks.internal"] }
"#;
    let errors = load_errors(text, &FakeEnvironment::default());
    let paths: Vec<&str> = errors.iter().filter_map(|e| e.split(": ").next()).collect();
    assert_eq!(
        paths,
        [
            "log.level",
            "otlp.tokens[0].signals",
            "otlp.limits.max_attributes",
            "otlp.limits.max_items_per_request",
            "outbound.allow[0]",
            "otlp.grpc.listen",
        ],
        "{errors:#?}"
    );
}

#[test]
fn the_memory_limit_shapes_the_storage_defaults_and_must_cover_what_is_set() {
    let config = load_ok("memory_limit: 256MiB\n", &FakeEnvironment::default());
    assert_eq!((config.storage.buffer_max_size, config.storage.flush_size), (64 << 20, 8 << 20));
    let budget = MemoryBudget::of(&config);
    assert!(budget.total() <= config.memory_limit / 4 * 3, "{budget:?}");
    assert_eq!(
        MemoryBudget::of(&Config::default()),
        MemoryBudget::of(&load_ok("", &FakeEnvironment::default()))
    );
    // Compaction gets a default flush's share while it fits, and what is left of the three quarters after.
    assert_eq!(MemoryBudget::of(&Config::default()).compaction, 96 << 20);
    let big_flushes = load_ok("storage: { flush_size: 64MiB }\n", &FakeEnvironment::default());
    let budget = MemoryBudget::of(&big_flushes);
    assert_eq!((budget.compaction, budget.total()), (64 << 20, 768 << 20), "{budget:?}");

    let errors = load_errors(
        "memory_limit: 256MiB\nstorage: { buffer_max_size: 200MiB }\n",
        &FakeEnvironment::default(),
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("storage.buffer_max_size: with storage.flush_size, needs"),
        "{errors:#?}"
    );
}

/// The reference block in docs/configuration.md must load, must contain every key the loader
/// knows, and the key tables must document exactly those keys. The set of known keys comes
/// from the reader itself, so adding a key to the loader without documenting it fails here.
#[test]
fn documentation_shows_and_describes_every_key() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/configuration.md is readable");
    let marker = "<!-- reference-config";
    let after_marker = &doc[doc.find(marker).expect("reference marker present")..];
    let block_start = after_marker.find("```yaml\n").expect("yaml block after marker") + 8;
    let block = &after_marker[block_start..];
    let block = &block[..block.find("\n```").expect("yaml block is closed")];

    // TLS and secret files in the example cannot exist here; pretend every file does.
    let env = FakeEnvironment {
        any_file: Some("file-secret-longer-than-16-bytes".to_owned()),
        ..FakeEnvironment::default()
    }
    .with_var("CHECKOUT_INGEST_TOKEN", "env-secret")
    .with_file(
        "/etc/sightline/alertmanager.yml",
        "route: { receiver: team }\nreceivers: [{ name: team }]\n",
    );
    let (result, known_keys) = load_and_list_keys(block, Path::new(BASE), &env);
    if let Err(errors) = result {
        panic!("the reference config in docs/configuration.md does not load:\n{errors}");
    }

    let value: Value = serde_yaml_ng::from_str(block).expect("valid YAML");
    let mut shown_keys = BTreeSet::new();
    collect_keys(&value, "", &mut shown_keys);
    let not_shown: Vec<&String> = known_keys.difference(&shown_keys).collect();
    assert!(not_shown.is_empty(), "keys missing from the reference config: {not_shown:?}");

    let documented: BTreeSet<String> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect();
    let undocumented: Vec<&String> = known_keys.difference(&documented).collect();
    assert!(undocumented.is_empty(), "keys missing from the key tables: {undocumented:?}");
    let stale: Vec<&String> = documented.difference(&known_keys).collect();
    assert!(stale.is_empty(), "documented keys the loader does not know: {stale:?}");
}

/// Schema paths of every key in a YAML value, list indexes written as `[]`.
fn collect_keys(value: &Value, prefix: &str, keys: &mut BTreeSet<String>) {
    match value {
        Value::Mapping(mapping) => {
            for (key, child) in mapping {
                let key = key.as_str().expect("string keys");
                let path =
                    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
                keys.insert(path.clone());
                collect_keys(child, &path, keys);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                collect_keys(item, &format!("{prefix}[]"), keys);
            }
        }
        _ => {}
    }
}

#[test]
fn retention_per_table_overrides_the_default_and_zero_keeps_forever() {
    let config = load_str(
        "retention:\n  max_age: 30d\n  tables:\n    spans: 7d\n    metrics: 0\n",
        Path::new("."),
    )
    .expect("valid");
    let day = Duration::from_secs(86_400);
    assert_eq!(config.retention.of("logs"), Some(30 * day));
    assert_eq!(config.retention.of("spans"), Some(7 * day));
    assert_eq!(config.retention.of("metrics"), None);
    assert_eq!(load_str("", Path::new(".")).expect("defaults").retention.of("logs"), None);
    let errors = load_str("retention:\n  tables:\n    traces: 7d\n", Path::new("."))
        .expect_err("unknown table");
    assert!(errors.to_string().contains("retention.tables.traces"), "{errors}");
}

#[test]
fn an_s3_object_store_reads_its_credentials_from_files_and_checks_its_endpoint() {
    let env =
        FakeEnvironment { any_file: Some("from-file\n".to_owned()), ..FakeEnvironment::default() };
    let config = load_ok(
        "storage:\n  object_store:\n    s3:\n      bucket: telemetry\n      prefix: node-a\n      \
         access_key_id_file: key\n      secret_access_key_file: secret\n",
        &env,
    );
    let Some(ObjectStoreConfig::S3(s3)) = config.storage.object_store else {
        panic!("an s3 store is configured")
    };
    assert_eq!((s3.bucket.as_str(), s3.prefix.as_deref()), ("telemetry", Some("node-a")));
    assert_eq!(s3.secret_access_key.as_ref().map(Secret::expose), Some("from-file"));
    assert_eq!((s3.region, s3.endpoint, s3.allow_http), (None, None, false));
    assert!(load_ok("", &env).storage.object_store.is_none(), "files stay under data_dir");

    let errors = load_errors(
        "storage:\n  object_store:\n    s3:\n      endpoint: http://127.0.0.1:9000\n",
        &env,
    );
    assert_eq!(errors, ["storage.object_store.s3.bucket: required field is missing"]);
    let errors = load_errors(
        "storage:\n  object_store:\n    s3: { bucket: b, endpoint: \"http://127.0.0.1:9000\" }\n",
        &env,
    );
    assert_eq!(
        errors,
        ["storage.object_store.s3.endpoint: a plain http:// endpoint needs allow_http: true"]
    );
    let errors = load_errors("storage:\n  object_store: {}\n", &env);
    assert_eq!(errors, ["storage.object_store: name a store: s3"]);
}

#[test]
fn redaction_rules_load_into_the_collector_config() {
    use sightline_collector::otlp::Signal;
    use sightline_collector::redact::{Action, Builtin};
    let text = r#"
redaction:
  hash_key: 0123456789abcdef0123
  builtin: { email: hash, ip_address: true, jwt: false }
  rules:
    - { name: ids, keys: ["user.*"], action: drop, signals: [logs], services: [checkout] }
    - { name: orders, value_regex: 'ORD-\d+', action: mask }
  allow_lists:
    - { name: pay, keys: ["http.*"], services: [payments] }
"#;
    let config = load_ok(text, &FakeEnvironment::default()).redaction;
    assert_eq!(
        config.builtins,
        [
            (Builtin::Jwt, None),
            (Builtin::Email, Some(Action::Hash)),
            (Builtin::IpAddress, Some(Action::Mask)),
        ]
    );
    assert_eq!(config.key_rules[0].scope.signals, [Signal::Logs]);
    assert_eq!(config.key_rules[0].keys.keys, ["user.*"]);
    assert_eq!(config.value_rules[0].regex, r"ORD-\d+");
    assert_eq!(config.allow_lists[0].scope.services, ["payments"]);
    assert!(config.hash_key.is_some() && !format!("{config:?}").contains("0123456789abcdef"));
}

#[test]
fn redaction_mistakes_are_reported_with_their_paths() {
    let text = r#"
redaction:
  hash_key: short
  builtin: { jwt: drop, payment_cards: false, email: maybe }
  rules:
    - { name: a, key_regexes: ["("], action: mask }
    - { name: b, keys: [x], value_regex: y, action: mask }
    - { name: c, value_regex: y, action: drop }
    - { name: d, action: mask }
    - { name: jwt, keys: [x], action: mask }
    - { keys: [x] }
"#;
    let errors = load_errors(text, &FakeEnvironment::default());
    let expected_starts = [
        "redaction.hash_key: must be at least 16 bytes long",
        "redaction.builtin.jwt: jwt cannot drop",
        "redaction.builtin.email: \"maybe\" is not one of",
        "redaction.builtin.payment_cards: unknown",
        "redaction.rules[0].key_regexes[0]: regex parse error",
        "redaction.rules[1]: give keys / key_regexes or value_regex, not both",
        "redaction.rules[2].action: a value_regex rule can mask or hash, not drop",
        "redaction.rules[3]: give keys or key_regexes",
        "redaction.rules[5].name: required field is missing",
        "redaction.rules[5].action: required field is missing",
        "redaction: rule name \"jwt\" is the name of a built-in rule",
    ];
    for start in expected_starts {
        assert!(
            errors.iter().any(|e| e.starts_with(start)),
            "no error starting {start:?} in {errors:#?}"
        );
    }
    let without_key = "redaction:\n  rules:\n    - { name: h, keys: [user.email], action: hash }\n";
    assert_eq!(
        load_errors(without_key, &FakeEnvironment::default()),
        ["redaction: rule h hashes values, which needs redaction.hash_key"]
    );
}

#[test]
fn span_metrics_are_on_by_default_and_need_a_positive_interval_and_limit() {
    let defaults = load_ok("", &FakeEnvironment::default()).span_metrics;
    assert_eq!(
        defaults,
        SpanMetricsConfig {
            enabled: true,
            flush_interval: Duration::from_secs(15),
            max_series: 10_000
        }
    );
    let set = load_ok(
        "span_metrics: { enabled: false, flush_interval: 1s, max_series: 5 }",
        &FakeEnvironment::default(),
    );
    assert_eq!(
        set.span_metrics,
        SpanMetricsConfig { enabled: false, flush_interval: Duration::from_secs(1), max_series: 5 }
    );
    let errors = load_errors(
        "span_metrics: { flush_interval: 0, max_series: 0, interval: 1s }",
        &FakeEnvironment::default(),
    );
    assert_eq!(
        errors,
        [
            "span_metrics.flush_interval: must be greater than 0",
            "span_metrics.max_series: must be greater than 0",
            "span_metrics.interval: unknown field (expected one of: enabled, flush_interval, max_series)",
        ]
    );
}

#[test]
fn logins_and_sessions_have_safe_defaults_and_refuse_zero_limits() {
    let config = load_ok("{}", &FakeEnvironment::default());
    assert!(config.auth.secure_cookies);
    assert_eq!(config.auth.sessions.max_failed_logins, 5);
    assert_eq!(config.auth.sessions.lockout, Duration::from_secs(900));

    let text = "auth: { secure_cookies: false, max_failed_logins: 3, lockout: 1h, session_idle: 30m, session_max: 1d }";
    let config = load_ok(text, &FakeEnvironment::default());
    assert!(!config.auth.secure_cookies);
    let sessions = &config.auth.sessions;
    assert_eq!(
        (sessions.max_failed_logins, sessions.lockout, sessions.session_idle, sessions.session_max),
        (3, Duration::from_secs(3600), Duration::from_secs(1800), Duration::from_secs(86_400))
    );

    let text = "auth: { max_failed_logins: 0, lockout: 0s, audit_retention: 0s, session_idle: 0s, session_max: 0s }";
    let errors = load_errors(text, &FakeEnvironment::default());
    assert_eq!(
        errors,
        [
            "auth.max_failed_logins: must be greater than 0",
            "auth.lockout: must be greater than 0",
            "auth.audit_retention: must be greater than 0",
            "auth.session_idle: must be greater than 0",
            "auth.session_max: must be greater than 0",
        ]
    );
}

#[test]
fn single_sign_on_maps_claim_values_to_roles_and_reports_what_is_missing() {
    let text = r#"
auth:
  oidc:
    issuer: https://id.example.org/realms/acme
    client_id: sightline
    client_secret: ${OIDC_SECRET}
    redirect_url: https://sightline.example.org/api/v1/auth/oidc/callback
    role_claim: roles
    roles: { admin: [sre-leads], editor: [sre, oncall] }
    default_role: viewer
"#;
    let env = FakeEnvironment::default().with_var("OIDC_SECRET", "s3cret");
    let oidc = load_ok(text, &env).auth.oidc.expect("oidc settings");
    assert_eq!(oidc.client_secret.as_deref(), Some("s3cret"));
    assert_eq!(oidc.scopes, ["profile", "email"]);
    assert_eq!(
        (oidc.username_claim.as_str(), oidc.role_claim.as_str()),
        ("preferred_username", "roles")
    );
    assert_eq!(
        oidc.roles,
        [
            (sightline_ui::auth::Role::Editor, vec!["sre".to_owned(), "oncall".to_owned()]),
            (sightline_ui::auth::Role::Admin, vec!["sre-leads".to_owned()]),
        ]
    );
    assert_eq!(oidc.default_role, Some(sightline_ui::auth::Role::Viewer));
    assert!(!format!("{oidc:?}").contains("s3cret"), "the secret is not printed");
    assert!(load_ok("{}", &env).auth.oidc.is_none());

    let text = "auth: { oidc: { issuer: 'http://id.example.org', roles: { owner: [x] }, default_role: admin } }";
    let errors = load_errors(text, &env);
    assert_eq!(
        errors,
        [
            "auth.oidc.issuer: \"http://id.example.org\" is not an https URL (http only for localhost)",
            "auth.oidc.roles.owner: unknown field (expected one of: viewer, editor, admin)",
            "auth.oidc.default_role: \"admin\" is not one of: none, viewer, editor",
            "auth.oidc.client_id: required field is missing",
            "auth.oidc.redirect_url: required field is missing",
        ]
    );
}
