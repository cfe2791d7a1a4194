//! The write buffer: every acknowledged batch that is not yet in a Parquet file, in memory and queryable.
//!
//! Entries are kept by WAL sequence number. Appends can finish out of order (group commit acknowledges many at
//! once, and each caller inserts its own entry), so the buffer tracks the *watermark*: the highest LSN up to
//! which every entry is present. A flush may only cover LSNs up to the watermark; otherwise an entry still on
//! its way from the WAL into the buffer could be skipped by the flush and then dropped from the WAL.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;

use crate::wal::Lsn;
use crate::{Table, TableBatch};

#[derive(Debug, Default)]
pub struct WriteBuffer {
    entries: BTreeMap<Lsn, Vec<TableBatch>>,
    /// Every LSN up to this one has been inserted (or flushed).
    watermark: Lsn,
    /// In-memory size of the buffered arrays.
    bytes: usize,
}

impl WriteBuffer {
    /// A buffer whose LSNs up to `flushed_through` are already durable elsewhere.
    pub fn new(flushed_through: Lsn) -> WriteBuffer {
        WriteBuffer { entries: BTreeMap::new(), watermark: flushed_through, bytes: 0 }
    }

    pub fn insert(&mut self, lsn: Lsn, batches: Vec<TableBatch>) {
        self.bytes += batches.iter().map(|b| b.batch.get_array_memory_size()).sum::<usize>();
        self.entries.insert(lsn, batches);
        while self.entries.contains_key(&(self.watermark + 1)) {
            self.watermark += 1;
        }
    }

    /// Marks LSNs that will never hold data (their WAL write failed), so that they do not hold back the
    /// watermark.
    pub fn void(&mut self, lsns: std::ops::Range<Lsn>) {
        let first = lsns.start.max(self.watermark + 1);
        for lsn in first..lsns.end {
            self.insert(lsn, Vec::new());
        }
    }

    /// The highest LSN below which no entry is missing.
    pub fn watermark(&self) -> Lsn {
        self.watermark
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The oldest buffered LSN, if any.
    pub fn first_lsn(&self) -> Option<Lsn> {
        self.entries.keys().next().copied()
    }

    /// Every buffered batch of `table` (cheap: record batches share their buffers).
    pub fn batches(&self, table: Table) -> Vec<RecordBatch> {
        self.entries
            .values()
            .flatten()
            .filter(|batch| batch.table == table)
            .map(|batch| batch.batch.clone())
            .collect()
    }

    /// The LSN up to which one flush should go: the watermark, or earlier where the entries up to it already
    /// hold `max_bytes`, so that a flush's working set (its copies while sorting and encoding) stays bounded
    /// however full the buffer is. At least one entry is always covered.
    pub fn flush_point(&self, max_bytes: usize) -> Lsn {
        let mut bytes = 0;
        for (lsn, batches) in self.entries.range(..=self.watermark) {
            bytes += batches.iter().map(|b| b.batch.get_array_memory_size()).sum::<usize>();
            if bytes >= max_bytes {
                return *lsn;
            }
        }
        self.watermark
    }

    /// The batches of every table with LSN <= `lsn`, grouped by table, for a flush.
    pub fn through(&self, lsn: Lsn) -> BTreeMap<Table, Vec<RecordBatch>> {
        let mut tables: BTreeMap<Table, Vec<RecordBatch>> = BTreeMap::new();
        for batch in self.entries.range(..=lsn).flat_map(|(_, batches)| batches) {
            tables.entry(batch.table).or_default().push(batch.batch.clone());
        }
        tables
    }

    /// Forgets every entry with LSN <= `lsn`, once a flush has made them durable in files.
    pub fn remove_through(&mut self, lsn: Lsn) {
        let kept = self.entries.split_off(&(lsn + 1));
        let removed = std::mem::replace(&mut self.entries, kept);
        self.bytes -=
            removed.values().flatten().map(|b| b.batch.get_array_memory_size()).sum::<usize>();
        self.watermark = self.watermark.max(lsn);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(table: Table, value: i64) -> TableBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![value]))])
            .expect("batch");
        TableBatch { table, batch }
    }

    #[test]
    fn the_watermark_waits_for_missing_entries() {
        let mut buffer = WriteBuffer::new(0);
        buffer.insert(2, vec![batch(Table::Logs, 2)]);
        assert_eq!(buffer.watermark(), 0, "lsn 1 is still on its way");
        buffer.insert(1, vec![batch(Table::Logs, 1)]);
        assert_eq!(buffer.watermark(), 2);
        buffer.insert(4, vec![batch(Table::Logs, 4)]);
        assert_eq!(buffer.watermark(), 2);
        buffer.void(3..4);
        assert_eq!(buffer.watermark(), 4, "a failed write's lsn no longer holds flushes back");
    }

    #[test]
    fn a_flush_takes_at_most_its_size_but_at_least_one_entry() {
        let mut buffer = WriteBuffer::new(0);
        for lsn in 1..=4 {
            buffer.insert(lsn, vec![batch(Table::Logs, lsn as i64)]);
        }
        buffer.insert(6, vec![batch(Table::Logs, 6)]);
        let entry = buffer.bytes() / 5;
        assert_eq!(buffer.flush_point(1), 1);
        assert_eq!(buffer.flush_point(2 * entry), 2);
        assert_eq!(buffer.flush_point(usize::MAX), 4, "never past the watermark");
    }

    #[test]
    fn flushing_takes_and_removes_exactly_the_covered_entries() {
        let mut buffer = WriteBuffer::new(10);
        buffer.insert(11, vec![batch(Table::Logs, 11), batch(Table::Spans, 11)]);
        buffer.insert(12, vec![batch(Table::Logs, 12)]);
        buffer.insert(13, vec![batch(Table::Logs, 13)]);
        let tables = buffer.through(12);
        assert_eq!(tables[&Table::Logs].len(), 2);
        assert_eq!(tables[&Table::Spans].len(), 1);
        let bytes_before = buffer.bytes();
        buffer.remove_through(12);
        assert_eq!(buffer.batches(Table::Logs).len(), 1);
        assert!(buffer.batches(Table::Spans).is_empty());
        assert!(buffer.bytes() < bytes_before);
        assert_eq!((buffer.first_lsn(), buffer.watermark()), (Some(13), 13));
        buffer.remove_through(13);
        assert_eq!((buffer.bytes(), buffer.is_empty()), (0, true));
    }
}
