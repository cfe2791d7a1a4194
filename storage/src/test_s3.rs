//! A real S3-compatible server for tests: moto's `moto_server` (PyPI `moto[server]`), which `scripts/test`
//! installs into `target/test-venv`. The first test that asks starts one server for the whole test binary
//! on a free loopback port; every test gets a fresh bucket of its own on it. The server is started under a
//! small shell that kills it when the test binary's end of its stdin closes, which the operating system does
//! when the test binary exits, however it exits.
//!
//! `SIGHTLINE_MOTO_SERVER` names another `moto_server` executable.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::store::S3Options;

/// How long the server may take to start answering (it imports a large Python web stack).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

struct Server {
    port: u16,
    /// Held until the process exits: its closing stops the server.
    _lifeline: ChildStdin,
    /// The shell that runs the server; it ends with the test binary, which never waits for it.
    _shell: Child,
}

/// A new, empty bucket on the test server, with the options that reach it.
pub fn fresh_bucket() -> S3Options {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = server();
    let bucket = format!("test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let status = request(server.port, "PUT", &format!("/{bucket}"));
    assert!(status.starts_with("HTTP/1.1 200"), "creating bucket {bucket} answered {status:?}");
    S3Options {
        bucket,
        region: Some("us-east-1".into()),
        endpoint: Some(format!("http://127.0.0.1:{}", server.port)),
        prefix: None,
        access_key_id: Some("test-key".into()),
        secret_access_key: Some("test-secret".into()),
        allow_http: true,
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn moto_server_path() -> PathBuf {
    match std::env::var_os("SIGHTLINE_MOTO_SERVER") {
        Some(path) => PathBuf::from(path),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/moto_server")
        }
    }
}

fn start() -> Server {
    let moto = moto_server_path();
    assert!(
        moto.exists(),
        "{} is missing: run scripts/test once (it installs moto[server] into target/test-venv), \
         or set SIGHTLINE_MOTO_SERVER to a moto_server executable",
        moto.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    // `cat` returns when the test binary's end of the pipe closes; then the server is killed.
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & server=$!; cat >/dev/null; kill $server"#)
        .arg(&moto)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", moto.display()));
    let lifeline = shell.stdin.take().expect("stdin is piped");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < STARTUP_TIMEOUT,
            "{} did not listen on port {port} within {STARTUP_TIMEOUT:?}",
            moto.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { port, _lifeline: lifeline, _shell: shell }
}

/// One unsigned HTTP request (moto does not check signatures); returns the status line.
fn request(port: u16, method: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the test server");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response.lines().next().unwrap_or_default().to_owned()
}
