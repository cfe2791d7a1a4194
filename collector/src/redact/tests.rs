//! Redaction through its public entry points: what each rule changes, and what it leaves alone.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test, with its line

use super::*;
use crate::convert::test_support::{array, int, kv, kvlist, string};
use crate::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::{
    Exemplar, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use crate::otlp::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

fn redactor(config: RedactionConfig) -> Redactor {
    Redactor::new(&config).unwrap()
}

fn defaults() -> Redactor {
    redactor(RedactionConfig::default())
}

fn with_key() -> RedactionConfig {
    RedactionConfig {
        hash_key: Some(HashKey(b"k3y-material".to_vec())),
        ..RedactionConfig::default()
    }
}

fn resource(service: &str, attributes: Vec<KeyValue>) -> Option<Resource> {
    let mut all = vec![kv("service.name", string(service))];
    all.extend(attributes);
    Some(Resource { attributes: all, ..Default::default() })
}

fn logs(service: &str, attributes: Vec<KeyValue>, body: AnyValue) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service, vec![]),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord { attributes, body: Some(body), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn redact_logs(
    redactor: &Redactor,
    request: &mut ExportLogsServiceRequest,
) -> (Tally, Vec<Change>) {
    let mut session = redactor.session(Signal::Logs, Vec::new());
    session.logs(request);
    session.finish()
}

fn record(request: &ExportLogsServiceRequest) -> &LogRecord {
    &request.resource_logs[0].scope_logs[0].log_records[0]
}

fn text(value: Option<&AnyValue>) -> &str {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(text)) => text,
        other => panic!("not a string: {other:?}"),
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref())
}

fn body_after(redactor: &Redactor, body: &str) -> String {
    let mut request = logs("svc", vec![], string(body));
    redact_logs(redactor, &mut request);
    text(record(&request).body.as_ref()).to_owned()
}

#[test]
fn credential_headers_and_keys_naming_secrets_are_masked_by_default_and_other_keys_kept() {
    let mut request = logs(
        "svc",
        vec![
            kv("http.request.header.authorization", array(vec![string("Basic dXNlcjpwYXNz")])),
            kv("http.response.header.set-cookie", string("session=abc")),
            kv("db.password", string("hunter2")),
            kv("client_secret", int(12345)),
            kv("http.route", string("/users/:id")),
            kv("gen_ai.usage.input_tokens", int(42)),
            kv("empty.token", string("")),
        ],
        string("hello"),
    );
    let (tally, changes) = redact_logs(&defaults(), &mut request);
    let attributes = &record(&request).attributes;
    for key in [
        "http.request.header.authorization",
        "http.response.header.set-cookie",
        "db.password",
        "client_secret",
    ] {
        assert_eq!(text(attribute(attributes, key)), "[REDACTED]", "{key}");
    }
    assert_eq!(text(attribute(attributes, "http.route")), "/users/:id");
    assert_eq!(attribute(attributes, "gen_ai.usage.input_tokens"), Some(&int(42)));
    assert_eq!(text(attribute(attributes, "empty.token")), "");
    assert_eq!(tally.total(), 4);
    assert_eq!(
        changes[0],
        Change {
            path: r#"resourceLogs[0].scopeLogs[0].logRecords[0].attributes["http.request.header.authorization"]"#
                .into(),
            rule: "authorization_header".into(),
            action: Action::Mask,
        }
    );
}

#[test]
fn detectors_replace_only_the_secret_part_of_a_value() {
    let redactor = defaults();
    let cases = [
        (format!("token {JWT} expired"), "token [REDACTED] expired"),
        ("Authorization: Bearer abcdef0123456789".into(), "Authorization: Bearer [REDACTED]"),
        ("authorization: basic dXNlcjpwYXNzd29yZA==".into(), "authorization: basic [REDACTED]"),
        ("key AKIAIOSFODNN7EXAMPLE used".into(), "key [REDACTED] used"),
        ("gh ghp_0123456789abcdefghijABCDEFGHIJ012345 ok".into(), "gh [REDACTED] ok"),
        ("slack xoxb-123456789012-abcdefghij ok".into(), "slack [REDACTED] ok"),
        (
            "post https://hooks.slack.com/services/T000/B000/XXXX done".into(),
            "post [REDACTED] done",
        ),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc".into(), "stripe [REDACTED]"),
        (
            "k=-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end".into(),
            "k=[REDACTED] end",
        ),
        (
            "cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAS".into(),
            "cut [REDACTED]",
        ),
        (
            "GET https://bob:s3cret@example.com/x".into(),
            "GET https://REDACTED:REDACTED@example.com/x",
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc123&x=1#f"
                .into(),
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&x=1#f",
        ),
        (
            "https://a.blob.core.windows.net/c?sv=1&sig=Zm9v%3D".into(),
            "https://a.blob.core.windows.net/c?sv=1&sig=REDACTED",
        ),
        ("paid with 4111 1111 1111 1111 today".into(), "paid with [REDACTED] today"),
        ("order 4111111111111112 shipped".into(), "order 4111111111111112 shipped"),
        ("mail bob@example.com, from 10.0.0.1".into(), "mail bob@example.com, from 10.0.0.1"),
    ];
    for (input, expected) in cases {
        assert_eq!(body_after(&redactor, &input), expected, "{input}");
    }
}

#[test]
fn emails_and_ip_addresses_are_redacted_when_switched_on() {
    let redactor = redactor(RedactionConfig {
        builtins: vec![
            (Builtin::Email, Some(Action::Mask)),
            (Builtin::IpAddress, Some(Action::Mask)),
        ],
        ..RedactionConfig::default()
    });
    assert_eq!(
        body_after(
            &redactor,
            "mail bob.smith+x@mail.example.com from 10.0.0.1 and fe80::1ff:fe23:4567:890a"
        ),
        "mail [REDACTED] from [REDACTED] and [REDACTED]"
    );
}

#[test]
fn structured_bodies_are_redacted_recursively_keys_and_values() {
    let mut request = logs(
        "svc",
        vec![],
        kvlist(vec![
            kv("password", string("hunter2")),
            kv(
                "user",
                kvlist(vec![kv("card", string("4111111111111111")), kv("name", string("Bob"))]),
            ),
            kv("list", array(vec![string(JWT), int(7)])),
        ]),
    );
    let (tally, changes) = redact_logs(&defaults(), &mut request);
    let expected = kvlist(vec![
        kv("password", string("[REDACTED]")),
        kv("user", kvlist(vec![kv("card", string("[REDACTED]")), kv("name", string("Bob"))])),
        kv("list", array(vec![string("[REDACTED]"), int(7)])),
    ]);
    assert_eq!(record(&request).body.as_ref(), Some(&expected));
    assert_eq!(tally.total(), 3);
    let paths: Vec<_> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            r#"resourceLogs[0].scopeLogs[0].logRecords[0].body["password"]"#,
            r#"resourceLogs[0].scopeLogs[0].logRecords[0].body["user"]["card"]"#,
            r#"resourceLogs[0].scopeLogs[0].logRecords[0].body["list"][0]"#,
        ]
    );
}

#[test]
fn text_sent_as_bytes_is_redacted_like_text() {
    let body = |bytes: &[u8]| AnyValue { value: Some(Value::BytesValue(bytes.to_vec())) };
    let mut request = logs("svc", vec![], body(format!("token {JWT}").as_bytes()));
    redact_logs(&defaults(), &mut request);
    assert_eq!(record(&request).body, Some(body(b"token [REDACTED]")));
    let binary = body(&[0xff, 0xfe, b'e', b'y', b'J']);
    let mut request = logs("svc", vec![], binary.clone());
    redact_logs(&defaults(), &mut request);
    assert_eq!(record(&request).body, Some(binary));
}

#[test]
fn sql_literals_become_placeholders_in_query_attributes_only() {
    let query = "SELECT * FROM users WHERE email = 'bob@example.com' AND id = 42";
    let mut request = logs(
        "svc",
        vec![
            kv("db.query.text", string(query)),
            kv("db.statement", string(query)),
            kv("note", string(query)),
        ],
        string("x"),
    );
    redact_logs(&defaults(), &mut request);
    let attributes = &record(&request).attributes;
    let sanitized = "SELECT * FROM users WHERE email = ? AND id = ?";
    assert_eq!(text(attribute(attributes, "db.query.text")), sanitized);
    assert_eq!(text(attribute(attributes, "db.statement")), sanitized);
    assert_eq!(text(attribute(attributes, "note")), query);
}

#[test]
fn hashing_is_keyed_stable_and_never_shows_the_key() {
    let rule = |action| KeyRule {
        name: "user-email".into(),
        keys: KeyPatterns { keys: vec!["user.email".into()], regexes: vec![] },
        action,
        scope: RuleScope::default(),
    };
    let hashed = |key: &[u8], value: &str| {
        let redactor = redactor(RedactionConfig {
            key_rules: vec![rule(Action::Hash)],
            hash_key: Some(HashKey(key.to_vec())),
            ..RedactionConfig::default()
        });
        let mut request = logs("svc", vec![kv("user.email", string(value))], string("x"));
        redact_logs(&redactor, &mut request);
        text(attribute(&record(&request).attributes, "user.email")).to_owned()
    };
    let first = hashed(b"key-one", "bob@example.com");
    assert!(first.starts_with("hmac:") && first.len() == 5 + 32, "{first}");
    assert_eq!(first, hashed(b"key-one", "bob@example.com"));
    assert_ne!(first, hashed(b"key-two", "bob@example.com"));
    assert_ne!(first, hashed(b"key-one", "alice@example.com"));
    // HMAC-SHA256("key-one", "bob@example.com"), first 16 bytes, computed independently with Python's hmac.
    assert_eq!(first, "hmac:43c40e3fccd77633919b155b89cc329f");
    assert!(
        !first.contains("key-one")
            && !format!("{:?}", HashKey(b"key-one".to_vec())).contains("key-one")
    );
    // Detectors hash only their match.
    let redactor = redactor(RedactionConfig {
        builtins: vec![(Builtin::PaymentCard, Some(Action::Hash))],
        ..with_key()
    });
    let body = body_after(&redactor, "card 4111111111111111 ok");
    assert!(body.starts_with("card hmac:") && body.ends_with(" ok"), "{body}");
}

#[test]
fn an_allow_list_drops_every_key_it_does_not_list_on_every_signal() {
    let config = RedactionConfig {
        allow_lists: vec![AllowList {
            name: "payments-allow".into(),
            keys: KeyPatterns { keys: vec!["http.*".into()], regexes: vec![] },
            scope: RuleScope { signals: vec![], services: vec!["payments".into()] },
        }],
        ..RedactionConfig::default()
    };
    let redactor = redactor(config);
    let attributes = || vec![kv("http.route", string("/pay")), kv("customer.id", string("c-1"))];

    let mut request =
        logs("payments", attributes(), kvlist(vec![kv("customer.id", string("c-1"))]));
    request.resource_logs[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("host.name", string("h")));
    let (tally, _) = redact_logs(&redactor, &mut request);
    assert_eq!(keys(&record(&request).attributes), ["http.route"]);
    assert_eq!(
        keys(&request.resource_logs[0].resource.as_ref().unwrap().attributes),
        ["service.name"]
    );
    // Inside the body, keys are data, not attributes: the allow-list leaves them.
    assert_eq!(
        record(&request).body.as_ref(),
        Some(&kvlist(vec![kv("customer.id", string("c-1"))]))
    );
    assert_eq!(
        tally.fired(&redactor).map(|(rule, n)| (rule.name.as_str(), n)).collect::<Vec<_>>(),
        [("payments-allow", 2)]
    );

    let mut other = logs("checkout", attributes(), string("x"));
    redact_logs(&redactor, &mut other);
    assert_eq!(keys(&record(&other).attributes), ["http.route", "customer.id"]);

    let mut traces = traces_request("payments", attributes());
    let mut session = redactor.session(Signal::Traces, ());
    session.traces(&mut traces);
    let span = &traces.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(keys(&span.attributes), ["http.route"]);
    assert_eq!(keys(&span.events[0].attributes), ["http.route"]);
    assert_eq!(keys(&span.links[0].attributes), ["http.route"]);

    let mut metrics = metrics_request("payments", attributes());
    let mut session = redactor.session(Signal::Metrics, ());
    session.metrics(&mut metrics);
    let point = gauge_point(&metrics);
    assert_eq!(keys(&point.attributes), ["http.route"]);
    assert_eq!(keys(&point.exemplars[0].filtered_attributes), ["http.route"]);
}

fn keys(attributes: &[KeyValue]) -> Vec<&str> {
    attributes.iter().map(|a| a.key.as_str()).collect()
}

fn traces_request(service: &str, attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service, vec![]),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    attributes: attributes.clone(),
                    ..Default::default()
                }),
                spans: vec![Span {
                    name: format!("GET {JWT}"),
                    attributes: attributes.clone(),
                    status: Some(Status {
                        message: format!("denied for {JWT}"),
                        ..Default::default()
                    }),
                    events: vec![span::Event {
                        name: "exception".into(),
                        attributes: attributes.clone(),
                        ..Default::default()
                    }],
                    links: vec![span::Link { attributes, ..Default::default() }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_request(service: &str, attributes: Vec<KeyValue>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service, vec![]),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            attributes: attributes.clone(),
                            exemplars: vec![Exemplar {
                                filtered_attributes: attributes,
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gauge_point(request: &ExportMetricsServiceRequest) -> &NumberDataPoint {
    match &request.resource_metrics[0].scope_metrics[0].metrics[0].data {
        Some(metric::Data::Gauge(gauge)) => &gauge.data_points[0],
        other => panic!("not a gauge: {other:?}"),
    }
}

#[test]
fn every_place_of_a_span_and_a_data_point_is_covered() {
    let secret = || vec![kv("note", string(&format!("t={JWT}"))), kv("api_key", string("k"))];
    let mut traces = traces_request("svc", secret());
    traces.resource_spans[0].resource.as_mut().unwrap().attributes.extend(secret());
    defaults().session(Signal::Traces, ()).traces(&mut traces);
    let debug = format!("{traces:?}");
    assert!(!debug.contains("eyJ") && !debug.contains("\"k\""), "{debug}");
    let span = &traces.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "GET [REDACTED]");
    assert_eq!(span.status.as_ref().unwrap().message, "denied for [REDACTED]");

    let mut metrics = metrics_request("svc", secret());
    defaults().session(Signal::Metrics, ()).metrics(&mut metrics);
    let debug = format!("{metrics:?}");
    assert!(!debug.contains("eyJ") && !debug.contains("\"k\""), "{debug}");
}

#[test]
fn rules_limited_to_a_signal_or_service_apply_only_there() {
    let redactor = redactor(RedactionConfig {
        key_rules: vec![KeyRule {
            name: "drop-customer".into(),
            keys: KeyPatterns { keys: vec![], regexes: vec!["^customer\\.".into()] },
            action: Action::Drop,
            scope: RuleScope { signals: vec![Signal::Logs], services: vec!["payments".into()] },
        }],
        ..RedactionConfig::default()
    });
    let attributes = || vec![kv("customer.id", string("c-1"))];
    let mut payments = logs("payments", attributes(), string("x"));
    redact_logs(&redactor, &mut payments);
    assert!(record(&payments).attributes.is_empty());
    let mut checkout = logs("checkout", attributes(), string("x"));
    redact_logs(&redactor, &mut checkout);
    assert_eq!(keys(&record(&checkout).attributes), ["customer.id"]);
    let mut traces = traces_request("payments", attributes());
    redactor.session(Signal::Traces, ()).traces(&mut traces);
    assert_eq!(keys(&traces.resource_spans[0].scope_spans[0].spans[0].attributes), ["customer.id"]);
}

#[test]
fn custom_value_rules_mask_their_match_or_first_group() {
    let rule = |name: &str, regex: &str| ValueRule {
        name: name.into(),
        regex: regex.into(),
        action: Action::Mask,
        scope: RuleScope::default(),
    };
    let redactor = redactor(RedactionConfig {
        value_rules: vec![
            // A literal start, a capture group, a case-insensitive start with a group, and no literal at all.
            rule("order", r"ORD-\d{6}"),
            rule("pin", r"pin=(\d+)"),
            rule("internal", r"(?i)x-internal-key:\s*(\S+)"),
            rule("ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
        ],
        ..RedactionConfig::default()
    });
    assert_eq!(
        body_after(&redactor, "ORD-123456 with pin=9876, X-Internal-Key: abc ssn 123-45-6789."),
        "[REDACTED] with pin=[REDACTED], X-Internal-Key: [REDACTED] ssn [REDACTED]."
    );
    assert_eq!(body_after(&redactor, "ord-123456 pin= 1"), "ord-123456 pin= 1");
}

#[test]
fn the_count_attribute_says_how_many_values_of_an_item_were_redacted() {
    let redactor =
        redactor(RedactionConfig { count_attribute: true, ..RedactionConfig::default() });
    let mut request = logs("svc", vec![kv("password", string("p"))], string(JWT));
    redact_logs(&redactor, &mut request);
    assert_eq!(attribute(&record(&request).attributes, COUNT_ATTRIBUTE), Some(&int(2)));
    let mut clean = logs("svc", vec![kv("k", string("v"))], string("fine"));
    redact_logs(&redactor, &mut clean);
    assert_eq!(attribute(&record(&clean).attributes, COUNT_ATTRIBUTE), None);
}

#[test]
fn switched_off_rules_and_a_disabled_redactor_change_nothing() {
    let off = redactor(RedactionConfig {
        builtins: vec![(Builtin::Jwt, None), (Builtin::SecretKey, None)],
        ..RedactionConfig::default()
    });
    let original = logs("svc", vec![kv("password", string("p"))], string(JWT));
    let mut request = original.clone();
    redact_logs(&off, &mut request);
    assert_eq!(request, original);
    let mut request = original.clone();
    redact_logs(&Redactor::disabled(), &mut request);
    assert_eq!(request, original);
}

#[test]
fn configurations_that_cannot_work_are_refused_with_the_rule_named() {
    let hash_without_key = RedactionConfig {
        builtins: vec![(Builtin::Email, Some(Action::Hash))],
        ..RedactionConfig::default()
    };
    assert_eq!(
        Redactor::new(&hash_without_key).unwrap_err(),
        "rule email hashes values, which needs redaction.hash_key"
    );
    let dropping_detector =
        RedactionConfig { builtins: vec![(Builtin::Jwt, Some(Action::Drop))], ..with_key() };
    assert_eq!(Redactor::new(&dropping_detector).unwrap_err(), "built-in rule jwt cannot drop");
    let bad_regex = RedactionConfig {
        value_rules: vec![ValueRule {
            name: "x".into(),
            regex: "(".into(),
            action: Action::Mask,
            scope: RuleScope::default(),
        }],
        ..RedactionConfig::default()
    };
    assert!(Redactor::new(&bad_regex).is_err());
}
