//! Runs the real `sightline` binary for end-to-end tests, and reads back what reached storage.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use serde_json::{Value, json};
use sightline_collector::ingest::Replay;
use sightline_collector::validate::Limits;
use sightline_storage::{FileLocation, S3Options, Table, TableBatch};

/// A running daemon with its own data directory, listening on ephemeral loopback ports.
pub struct Daemon {
    child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub api: SocketAddr,
    pub dir: tempfile::TempDir,
    /// Where the daemon keeps its Parquet files.
    pub files: FileLocation,
    data_dir: PathBuf,
    /// Every line the daemon wrote to stderr (its log), across restarts.
    log: Arc<Mutex<Vec<String>>>,
    /// Makes the request bodies its WAL logged into rows again, as the daemon does on a restart.
    replay: Replay,
}

/// The bootstrap admin token of every test daemon.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The ingest limits of a daemon's configuration (`otlp.limits`), as numbers.
fn limits(config: &Value) -> Limits {
    let defaults = Limits::default();
    let limit = |name: &str, default: u64| match &config["otlp"]["limits"][name] {
        Value::Null => default,
        value => value.as_u64().unwrap_or_else(|| panic!("otlp.limits.{name} is not a number")),
    };
    Limits {
        max_attributes: limit("max_attributes", defaults.max_attributes as u64) as usize,
        max_attribute_value_length: limit(
            "max_attribute_value_length",
            defaults.max_attribute_value_length as u64,
        ) as usize,
        max_items_per_request: limit("max_items_per_request", defaults.max_items_per_request),
    }
}

/// The configuration every test starts from; `overrides` is merged into it key by key.
fn base_config(dir: &Path) -> Value {
    json!({
        "data_dir": dir.join("data"),
        "log": { "format": "json", "level": "info" },
        "otlp": {
            "grpc": { "listen": "127.0.0.1:0" },
            "http": { "listen": "127.0.0.1:0" },
        },
        "http": { "listen": "127.0.0.1:0" },
        "auth": { "admin_token": ADMIN_TOKEN },
        "shutdown": { "grace_period": "10s" },
        // Derived span metrics would otherwise appear in the metric tables every 15 s, in the middle of tests
        // that count rows; the span-metrics tests set their own interval.
        "span_metrics": { "flush_interval": "1h" },
    })
}

impl Daemon {
    pub fn start() -> Daemon {
        Daemon::start_with(json!({}))
    }

    /// Starts the binary with the base configuration merged with `overrides` (JSON is YAML).
    pub fn start_with(overrides: Value) -> Daemon {
        Daemon::start_with_files(overrides, &[])
    }

    /// [`Daemon::start_with`], with `files` (a path relative to the configuration file, and its text)
    /// written first: rule files, for example.
    pub fn start_with_files(overrides: Value, files: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a file has a directory")).expect("mkdir");
            std::fs::write(path, text).expect("write a file of the test");
        }
        let mut config = base_config(dir.path());
        merge(&mut config, overrides);
        let data_dir = PathBuf::from(config["data_dir"].as_str().expect("data_dir is a path"));
        let config_path = dir.path().join("sightline.yaml");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config).expect("json"))
            .expect("write config");
        let log = Arc::default();
        let (child, grpc, http, api) = launch(&config_path, &log);
        let replay = Replay::new(limits(&config));
        Daemon { child, grpc, http, api, dir, data_dir, files: FileLocation::DataDir, log, replay }
    }

    /// Starts the binary with its Parquet files in a fresh bucket of the S3 test server, under `prefix`.
    pub fn start_in_bucket(prefix: &str, overrides: Value) -> Daemon {
        let s3 = S3Options {
            prefix: Some(prefix.to_owned()),
            ..sightline_storage::test_s3::fresh_bucket()
        };
        let object_store = json!({ "storage": { "object_store": { "s3": {
            "bucket": s3.bucket,
            "region": s3.region,
            "endpoint": s3.endpoint,
            "prefix": s3.prefix,
            "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key,
            "allow_http": s3.allow_http,
        }}}});
        let mut config = object_store;
        merge(&mut config, overrides);
        let mut daemon = Daemon::start_with(config);
        daemon.files = FileLocation::S3(s3);
        daemon
    }

    /// Kills the process without warning (SIGKILL) and starts a new one on the same data and configuration.
    pub fn crash_and_restart(mut self) -> Daemon {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.child, self.grpc, self.http, self.api) =
            launch(&self.dir.path().join("sightline.yaml"), &self.log);
        self
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// A URL of the API listener (`/api/v1/…`, `/metrics`).
    pub fn api_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Runs SQL through `POST /api/v1/sql` as the admin; returns the status and the JSON answer.
    pub async fn sql(&self, sql: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/v1/sql", self.api))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .expect("sql request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a json answer"))
    }

    /// The value of one counter or gauge on `/metrics`, named with its labels as exposed; 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.api))
            .await
            .and_then(|response| response.error_for_status())
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.trim().parse().expect("a number"))
    }

    /// The single value a SQL query returns.
    pub async fn sql_value(&self, sql: &str) -> Value {
        let (status, answer) = self.sql(sql).await;
        assert_eq!(status, 200, "{sql}: {answer}");
        answer["rows"][0][0].clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's log so far, one line per entry.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Everything that reached storage so far: data files and the WAL records no file covers.
    pub fn stored(&self) -> Stored {
        Stored(
            sightline_storage::engine::read_all(&self.data_dir(), &self.files, Some(&self.replay))
                .expect("read the data directory and files"),
        )
    }

    /// The WAL's records, decoded as the daemon decodes them on a restart.
    pub fn wal_records(&self) -> Vec<(u64, Vec<TableBatch>)> {
        sightline_storage::wal::read_dir(&self.data_dir.join("wal"), Some(&self.replay))
            .expect("read the wal")
    }

    /// The peak resident memory of the daemon so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    pub fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate();
        self.wait()
    }

    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for sightline") {
                return status;
            }
            assert!(Instant::now() < deadline, "sightline did not exit within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `sightline serve` and waits until it reports its three listeners.
fn launch(
    config_path: &Path,
    log: &Arc<Mutex<Vec<String>>>,
) -> (Child, SocketAddr, SocketAddr, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--config"])
        .arg(config_path)
        .env_remove("SIGHTLINE_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sightline");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (lines, received) = mpsc::channel();
    let log = Arc::clone(log);
    // Keep draining stderr for the daemon's whole life so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if std::env::var_os("SIGHTLINE_TEST_LOGS").is_some() {
                eprintln!("daemon: {line}");
            }
            log.lock().expect("log lock").push(line.clone());
            let _ = lines.send(line);
        }
    });
    let (mut grpc, mut http, mut api) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while grpc.is_none() || http.is_none() || api.is_none() {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!("sightline did not report its listeners: {:?}", child.try_wait())
            });
        let Ok(entry) = serde_json::from_str::<Value>(&line) else { continue };
        let fields = &entry["fields"];
        if fields["message"] != "listening" {
            continue;
        }
        let address = fields["address"].as_str().and_then(|a| a.parse().ok());
        match fields["listener"].as_str() {
            Some("otlp_grpc") => grpc = address,
            Some("otlp_http") => http = address,
            Some("api") => api = address,
            _ => {}
        }
    }
    std::thread::spawn(move || while received.recv().is_ok() {});
    (child, grpc.expect("grpc address"), http.expect("http address"), api.expect("api address"))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Batches read back from storage.
pub struct Stored(pub Vec<TableBatch>);

impl Stored {
    /// All rows of one table, as one batch (empty when none).
    pub fn table(&self, table: Table) -> RecordBatch {
        let batches: Vec<&RecordBatch> =
            self.0.iter().filter(|b| b.table == table).map(|b| &b.batch).collect();
        match batches.first() {
            None => RecordBatch::new_empty(table.schema()),
            Some(first) => {
                arrow_select::concat::concat_batches(&first.schema(), batches.iter().copied())
                    .expect("concat")
            }
        }
    }

    pub fn rows(&self, table: Table) -> usize {
        self.table(table).num_rows()
    }
}

fn merge(base: &mut Value, overrides: Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, value) => *base = value,
    }
}

/// A Utf8 column as owned strings (null → None).
pub fn string_column(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
    let strings = arrow_array::cast::AsArray::as_string::<i32>(column.as_ref());
    strings.iter().map(|value| value.map(str::to_owned)).collect()
}

/// A Float64 column (nulls are not expected).
pub fn f64_column(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
    let values = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Float64Type>(
        column.as_ref(),
    );
    values.values().to_vec()
}

/// A `Map<Utf8, Utf8>` column: each row's entries in order.
pub fn map_column(batch: &RecordBatch, name: &str) -> Vec<Vec<(String, Option<String>)>> {
    use arrow_array::Array;
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
    let maps = arrow_array::cast::AsArray::as_map(column.as_ref());
    (0..maps.len())
        .map(|row| {
            let entries = maps.value(row);
            let keys = arrow_array::cast::AsArray::as_string::<i32>(entries.column(0).as_ref());
            let values = arrow_array::cast::AsArray::as_string::<i32>(entries.column(1).as_ref());
            keys.iter()
                .zip(values.iter())
                .map(|(key, value)| (key.unwrap_or_default().to_owned(), value.map(str::to_owned)))
                .collect()
        })
        .collect()
}

/// The value of `key` in row `row` of a map column.
pub fn map_value(batch: &RecordBatch, column: &str, row: usize, key: &str) -> Option<String> {
    map_column(batch, column)[row].iter().find(|(k, _)| k == key).and_then(|(_, v)| v.clone())
}

/// A column of any type, rendered by Arrow's display formatter, for readable comparisons.
pub fn display_column(batch: &RecordBatch, name: &str) -> Vec<String> {
    let column = batch.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
    let formatter =
        arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &Default::default())
            .expect("formatter");
    (0..batch.num_rows()).map(|row| formatter.value(row).to_string()).collect()
}
