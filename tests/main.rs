//! End-to-end tests: the real `sightline` binary, talked to as real clients do. One test binary (the root
//! package sets `autotests = false`), so that the dependency graph is linked once: add new files as `mod`s.

mod access;
mod alerting;
mod auth_tls;
mod config_check;
mod crash;
mod full_disk;
mod lifecycle;
mod notifications;
mod otlp_clients;
mod otlp_grpc;
mod otlp_http;
mod overload;
mod payloads;
mod promql_api;
mod query_cli;
mod redaction;
mod rules_cli;
mod s3;
mod span_metrics;
mod sql;
mod support;
