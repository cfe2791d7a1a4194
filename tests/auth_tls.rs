//! Ingest tokens over both transports, and TLS with client-certificate verification.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::json;
use sightline_storage::Table;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::metadata::MetadataValue;

use crate::payloads::{logs_request, traces_request};
use crate::support::Daemon;

fn with_tokens() -> Daemon {
    Daemon::start_with(json!({ "otlp": { "tokens": [
        { "name": "everything", "token": "token-for-everything" },
        { "name": "logs-only", "token": "token-for-logs", "signals": ["logs"] },
    ]}}))
}

#[tokio::test]
async fn http_needs_a_valid_token_allowed_for_the_signal() {
    let daemon = with_tokens();
    let client = reqwest::Client::new();
    let send = |path: &'static str, token: Option<&'static str>| {
        let body = if path == "/v1/logs" {
            logs_request(1).encode_to_vec()
        } else {
            traces_request(1).encode_to_vec()
        };
        let mut request = client
            .post(daemon.http_url(path))
            .header("content-type", "application/x-protobuf")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let missing = send("/v1/logs", None).await.expect("request");
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(send("/v1/logs", Some("token-for-nothing")).await.expect("request").status(), 401);
    assert_eq!(send("/v1/traces", Some("token-for-logs")).await.expect("request").status(), 403);
    assert_eq!(send("/v1/logs", Some("token-for-logs")).await.expect("request").status(), 200);
    assert_eq!(
        send("/v1/traces", Some("token-for-everything")).await.expect("request").status(),
        200
    );
    let stored = daemon.stored();
    assert_eq!((stored.rows(Table::Logs), stored.rows(Table::Spans)), (1, 1));
}

#[tokio::test]
async fn grpc_needs_a_valid_token_allowed_for_the_signal() {
    let daemon = with_tokens();
    let bearer =
        |token: &str| -> MetadataValue<_> { format!("Bearer {token}").parse().expect("metadata") };
    let mut logs = LogsServiceClient::connect(daemon.grpc_url()).await.expect("connect");
    let mut traces = TraceServiceClient::connect(daemon.grpc_url()).await.expect("connect");

    let status = logs.export(logs_request(1)).await.expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let mut request = tonic::Request::new(logs_request(1));
    request.metadata_mut().insert("authorization", bearer("wrong"));
    assert_eq!(
        logs.export(request).await.expect_err("wrong token").code(),
        tonic::Code::Unauthenticated
    );
    let mut request = tonic::Request::new(traces_request(1));
    request.metadata_mut().insert("authorization", bearer("token-for-logs"));
    assert_eq!(
        traces.export(request).await.expect_err("logs-only token").code(),
        tonic::Code::PermissionDenied
    );
    let mut request = tonic::Request::new(logs_request(1));
    request.metadata_mut().insert("authorization", bearer("token-for-logs"));
    logs.export(request).await.expect("allowed");
    assert_eq!(daemon.stored().rows(Table::Logs), 1);
}

/// A CA, a server certificate for localhost signed by it, and PEM files for the daemon.
pub(crate) struct Pki {
    ca: rcgen::Certificate,
    ca_issuer: Issuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let ca = params.self_signed(&key).expect("ca");
        let pki =
            Pki { ca, ca_issuer: Issuer::new(params, key), dir: tempfile::tempdir().expect("dir") };
        let (server_cert, server_key) = pki.issue("localhost");
        std::fs::write(pki.path("server.pem"), server_cert).expect("write");
        std::fs::write(pki.path("server-key.pem"), server_key).expect("write");
        std::fs::write(pki.path("ca.pem"), pki.ca.pem()).expect("write");
        pki
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A certificate for `name` signed by this CA: (certificate PEM, key PEM).
    pub(crate) fn issue(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        let certificate = params.signed_by(&key, &self.ca_issuer).expect("sign");
        (certificate.pem(), key.serialize_pem())
    }
}

/// Sends one OTLP/HTTP request over TLS with a hand-written HTTP/1.1 request; returns the status line, or the
/// error that ended the exchange.
async fn post_over_tls(
    daemon: &Daemon,
    pki: &Pki,
    client_identity: Option<(String, String)>,
) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(pki.ca.der().to_vec())).expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match client_identity {
        None => builder.with_no_client_auth(),
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
            )
            .expect("client auth"),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(daemon.http).await.map_err(|e| e.to_string())?;
    let server_name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(server_name, tcp).await.map_err(|e| e.to_string())?;
    let body = logs_request(1).encode_to_vec();
    let head = format!(
        "POST /v1/logs HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    tls.write_all(&body).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate_from_the_configured_ca() {
    let pki = Pki::new();
    let daemon = Daemon::start_with(json!({ "otlp": { "http": { "tls": {
        "cert_file": pki.path("server.pem"),
        "key_file": pki.path("server-key.pem"),
        "client_ca_file": pki.path("ca.pem"),
    }}}}));

    let without_certificate = post_over_tls(&daemon, &pki, None).await;
    assert!(
        !without_certificate.as_deref().unwrap_or("").contains("200"),
        "{without_certificate:?}"
    );

    let other_ca = Pki::new();
    let foreign = post_over_tls(&daemon, &pki, Some(other_ca.issue("client"))).await;
    assert!(!foreign.as_deref().unwrap_or("").contains("200"), "{foreign:?}");
    assert_eq!(daemon.stored().rows(Table::Logs), 0);

    let trusted = post_over_tls(&daemon, &pki, Some(pki.issue("client"))).await;
    assert_eq!(trusted.as_deref(), Ok("HTTP/1.1 200 OK"));
    assert_eq!(daemon.stored().rows(Table::Logs), 1);
}

#[tokio::test]
async fn plain_tls_without_client_verification_accepts_any_client() {
    let pki = Pki::new();
    let daemon = Daemon::start_with(json!({ "otlp": { "http": { "tls": {
        "cert_file": pki.path("server.pem"),
        "key_file": pki.path("server-key.pem"),
    }}}}));
    assert_eq!(post_over_tls(&daemon, &pki, None).await.as_deref(), Ok("HTTP/1.1 200 OK"));
}

#[tokio::test]
async fn grpc_over_mtls_accepts_only_clients_with_a_certificate_from_the_configured_ca() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    let pki = Pki::new();
    let daemon = Daemon::start_with(json!({ "otlp": { "grpc": { "tls": {
        "cert_file": pki.path("server.pem"),
        "key_file": pki.path("server-key.pem"),
        "client_ca_file": pki.path("ca.pem"),
    }}}}));
    let endpoint = format!("https://localhost:{}", daemon.grpc.port());
    let tls = || {
        ClientTlsConfig::new()
            .domain_name("localhost")
            .ca_certificate(Certificate::from_pem(pki.ca.pem()))
    };
    let export = |tls: ClientTlsConfig| {
        let endpoint = endpoint.clone();
        async move {
            let channel = Channel::from_shared(endpoint)
                .expect("uri")
                .tls_config(tls)
                .expect("tls")
                .connect()
                .await;
            match channel {
                Ok(channel) => LogsServiceClient::new(channel)
                    .export(logs_request(1))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            }
        }
    };
    assert!(export(tls()).await.is_err(), "a client without a certificate must be refused");
    let (certificate, key) = pki.issue("client");
    export(tls().identity(Identity::from_pem(certificate, key)))
        .await
        .expect("a client with a trusted certificate");
    assert_eq!(daemon.stored().rows(Table::Logs), 1);
}
