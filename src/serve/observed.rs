//! The sink that the receivers, the span metrics and the rules write through: storage first, then, once
//! storage has accepted them, the metrics batches are shown to the rules' recent samples.

use std::sync::Arc;

use sightline_rules::stored::RecentMetrics;
use sightline_storage::engine::Storage;
use sightline_storage::sink::WriteFuture;
use sightline_storage::{BatchSink, Source, Table, TableBatch};

pub struct ObservedStorage {
    pub storage: Storage,
    pub recent: Arc<RecentMetrics>,
}

impl BatchSink for ObservedStorage {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_> {
        self.observed(batches, None)
    }

    fn write_from(&self, batches: Vec<TableBatch>, source: Source) -> WriteFuture<'_> {
        self.observed(batches, Some(source))
    }

    fn refusal(&self) -> Option<sightline_storage::Error> {
        self.storage.refusal()
    }
}

impl ObservedStorage {
    fn observed(&self, batches: Vec<TableBatch>, source: Option<Source>) -> WriteFuture<'_> {
        Box::pin(async move {
            let is_metrics = |batch: &&TableBatch| {
                matches!(batch.table, Table::Metrics | Table::MetricsHistogram)
            };
            // Arrow arrays are shared, not copied.
            let metrics: Vec<TableBatch> = batches.iter().filter(is_metrics).cloned().collect();
            match source {
                Some(source) => self.storage.write_from(batches, source).await?,
                None => self.storage.write(batches).await?,
            }
            if !metrics.is_empty() {
                // Off the async workers: it takes a lock that a rule's selection may hold for a while. Awaited,
                // so that a point is readable by the time its request is acknowledged.
                let recent = Arc::clone(&self.recent);
                let observed = tokio::task::spawn_blocking(move || recent.observe(&metrics)).await;
                if let Err(error) = observed {
                    // The samples are stored; only the recent view missed them, which `observe` itself
                    // cannot do except by panicking.
                    tracing::error!(%error, "showing a batch to the recent metric samples failed");
                }
            }
            Ok(())
        })
    }
}
