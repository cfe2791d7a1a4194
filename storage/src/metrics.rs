//! Storage's own metrics (`sightline_storage_*`): counters updated as things happen, and gauges read from the
//! engine at scrape time so they are never stale.

use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::Table;
use crate::engine::Storage;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TableLabels {
    table: &'static str,
}

/// The event counters; cheap to clone.
#[derive(Debug, Clone)]
pub struct StorageMetrics {
    flushes: Family<OutcomeLabels, Counter>,
    flush_duration: Histogram,
    refused_writes: Counter,
    corrupt_wal_segments: Counter,
    retention_deleted_files: Counter,
    compactions: Counter,
    compacted_files: Counter,
    compaction_read_bytes: Counter,
    compaction_written_bytes: Counter,
}

impl Default for StorageMetrics {
    fn default() -> StorageMetrics {
        StorageMetrics {
            flushes: Family::default(),
            // 10 ms to ~80 s
            flush_duration: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            refused_writes: Counter::default(),
            corrupt_wal_segments: Counter::default(),
            retention_deleted_files: Counter::default(),
            compactions: Counter::default(),
            compacted_files: Counter::default(),
            compaction_read_bytes: Counter::default(),
            compaction_written_bytes: Counter::default(),
        }
    }
}

impl StorageMetrics {
    pub fn flushed(&self, succeeded: bool, took: Duration) {
        let outcome = if succeeded { "ok" } else { "error" };
        self.flushes.get_or_create(&OutcomeLabels { outcome }).inc();
        self.flush_duration.observe(took.as_secs_f64());
    }

    pub fn refused_write(&self) {
        self.refused_writes.inc();
    }

    /// One compaction: `files` of `read_bytes` merged into one of `written_bytes`.
    pub fn compacted(&self, files: usize, read_bytes: u64, written_bytes: u64) {
        self.compactions.inc();
        self.compacted_files.inc_by(files as u64);
        self.compaction_read_bytes.inc_by(read_bytes);
        self.compaction_written_bytes.inc_by(written_bytes);
    }

    pub fn retention_deleted(&self, files: usize) {
        self.retention_deleted_files.inc_by(files as u64);
    }

    pub fn corrupt_wal_segments(&self, count: usize) {
        self.corrupt_wal_segments.inc_by(count as u64);
    }
}

/// Registers the engine's counters and its live gauges.
pub fn register(storage: &Storage, registry: &mut Registry) {
    let metrics = storage.metrics();
    let storage_registry = registry.sub_registry_with_prefix("sightline_storage");
    storage_registry.register(
        "flushes",
        "Flushes of the write buffer to Parquet, by outcome",
        metrics.flushes.clone(),
    );
    storage_registry.register_with_unit(
        "flush_duration",
        "Time to write a flush's Parquet files and checkpoint",
        Unit::Seconds,
        metrics.flush_duration.clone(),
    );
    storage_registry.register(
        "refused_writes",
        "Writes refused (retryably) because the write buffer was full",
        metrics.refused_writes.clone(),
    );
    storage_registry.register(
        "wal_corrupt_segments",
        "Damaged WAL segments found at start; their intact records were recovered",
        metrics.corrupt_wal_segments.clone(),
    );
    storage_registry.register(
        "retention_deleted_files",
        "Parquet files deleted because their rows were older than the table's retention",
        metrics.retention_deleted_files.clone(),
    );
    storage_registry.register(
        "compactions",
        "Compactions: runs of a partition's files merged into one file",
        metrics.compactions.clone(),
    );
    storage_registry.register(
        "compacted_files",
        "Parquet files merged into others by compaction",
        metrics.compacted_files.clone(),
    );
    storage_registry.register_with_unit(
        "compaction_read",
        "Bytes of the Parquet files compaction merged",
        Unit::Bytes,
        metrics.compaction_read_bytes.clone(),
    );
    storage_registry.register_with_unit(
        "compaction_written",
        "Bytes of the Parquet files compaction wrote",
        Unit::Bytes,
        metrics.compaction_written_bytes.clone(),
    );
    registry.register_collector(Box::new(Gauges(storage.clone())));
}

/// Reads sizes from the engine when `/metrics` is scraped.
#[derive(Debug)]
struct Gauges(Storage);

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.0.status();
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64| {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
        };
        gauge(
            &mut encoder,
            "sightline_storage_buffer_bytes",
            "Memory held by rows not yet in Parquet files",
            status.buffer_bytes as u64,
        )?;
        gauge(
            &mut encoder,
            "sightline_storage_wal_bytes",
            "Bytes of live WAL segments on disk",
            status.wal_bytes,
        )?;
        let fsyncs = ConstCounter::new(status.wal_fsyncs);
        fsyncs.encode(encoder.encode_descriptor(
            "sightline_storage_wal_fsyncs",
            "fsyncs of the WAL; with group commit far fewer than acknowledged requests",
            None,
            fsyncs.metric_type(),
        )?)?;
        for (name, help, values) in [
            ("sightline_storage_data_files", "Parquet data files per table", &status.files),
            (
                "sightline_storage_data_bytes",
                "Bytes of Parquet data files per table",
                &status.file_bytes,
            ),
        ] {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for table in Table::ALL {
                let value = ConstGauge::new(i64::try_from(values[&table]).unwrap_or(i64::MAX));
                value.encode(family.encode_family(&TableLabels { table: table.name() })?)?;
            }
        }
        Ok(())
    }
}
