//! One WAL record on disk, and the payload inside it.
//!
//! Record: `[payload length: u32 LE][CRC32C of (lsn bytes + payload): u32 LE][lsn: u64 LE][payload]`.
//! Payload: `[entry count: u32 LE]` then, per entry, `[tag: u8][length: u32 LE][content]`: a table's tag with an
//! Arrow IPC stream of its batch, or [`SOURCE_TAG`] with `[format: u8][stamp: i64 LE][bytes]`, a [`Source`]
//! logged in place of the batches made from it.

use std::sync::LazyLock;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{
    DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, StreamWriter,
    write_message,
};
use arrow_schema::DataType;

use super::{Lsn, crc};
use crate::sink::{Source, SourceDecoder};
use crate::{Error, Result, Table, TableBatch};

/// Bytes before the payload: length, checksum, LSN.
pub(crate) const HEADER_LEN: usize = 16;

/// The largest payload a record may carry. A length field above it reads as damage, not as an allocation.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// The largest buffer a record is given before it is encoded.
const PRESIZED_LIMIT: usize = 64 << 20;

/// The tag of a [`Source`] entry; table tags are small numbers.
const SOURCE_TAG: u8 = 0xff;

/// A source entry's content before its bytes: format and stamp.
const SOURCE_HEADER_LEN: usize = 9;

/// A record encoded in the caller's task, still without its LSN; the writer seals it when it assigns one.
#[derive(Debug)]
pub(crate) struct Unsealed {
    /// The whole record: a header whose LSN and checksum are zero until sealed, then the payload.
    pub(crate) bytes: Vec<u8>,
    /// CRC32C of the payload alone, so that sealing costs a combine, not a pass over the payload.
    payload_crc: u32,
}

impl Unsealed {
    /// Encodes the batches of one request. The expensive part (Arrow IPC) runs here, in the caller.
    pub(crate) fn encode(batches: &[TableBatch]) -> Result<Unsealed> {
        // Sized up front: growing a buffer of a few hundred kilobytes by doubling cost a copy and a
        // reallocation each time (≈ 3 % of the daemon's CPU under a metrics load). The estimate counts
        // whole buffers, so it is capped for batches sliced out of large arrays: beyond it, the buffer grows.
        let estimate = HEADER_LEN + 4 + batches.iter().map(encoded_size_estimate).sum::<usize>();
        let mut bytes = payload_start(estimate, batches.len())?;
        for TableBatch { table, batch } in batches {
            bytes.push(table.tag());
            let length_at = bytes.len();
            bytes.extend_from_slice(&[0u8; 4]);
            write_ipc_stream(&mut bytes, *table, batch)?;
            let ipc_len = bytes.len() - length_at - 4;
            let ipc_len = u32::try_from(ipc_len).map_err(|_| too_large(ipc_len))?;
            bytes[length_at..length_at + 4].copy_from_slice(&ipc_len.to_le_bytes());
        }
        Unsealed::finish(bytes)
    }

    /// Encodes `source` in place of the batches made from it; replay makes them again (see [`Source`]).
    pub(crate) fn encode_source(source: &Source) -> Result<Unsealed> {
        let content_len = SOURCE_HEADER_LEN + source.bytes.len();
        let mut bytes = payload_start(HEADER_LEN + 4 + 5 + content_len, 1)?;
        bytes.push(SOURCE_TAG);
        let length = u32::try_from(content_len).map_err(|_| too_large(content_len))?;
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.push(source.format);
        bytes.extend_from_slice(&source.stamp.to_le_bytes());
        bytes.extend_from_slice(&source.bytes);
        Unsealed::finish(bytes)
    }

    /// Fills in the payload's length and checksum.
    fn finish(mut bytes: Vec<u8>) -> Result<Unsealed> {
        let payload_len = bytes.len() - HEADER_LEN;
        if payload_len > MAX_PAYLOAD {
            return Err(too_large(payload_len));
        }
        let length = u32::try_from(payload_len).map_err(|_| too_large(payload_len))?;
        bytes[0..4].copy_from_slice(&length.to_le_bytes());
        let payload_crc = crc32c::crc32c(&bytes[HEADER_LEN..]);
        Ok(Unsealed { bytes, payload_crc })
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Stamps the record with `lsn` and its checksum, in place; returns its bytes, ready to be written.
    pub(crate) fn seal(&mut self, lsn: Lsn) -> &[u8] {
        let lsn_bytes = lsn.to_le_bytes();
        let payload_len = self.bytes.len() - HEADER_LEN;
        let crc = crc::combine(crc32c::crc32c(&lsn_bytes), self.payload_crc, payload_len);
        self.bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        self.bytes[8..HEADER_LEN].copy_from_slice(&lsn_bytes);
        &self.bytes
    }
}

/// A record's buffer, with room for about `estimate` bytes, up to the payload's entry count.
fn payload_start(estimate: usize, entries: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(estimate.min(PRESIZED_LIMIT));
    bytes.resize(HEADER_LEN, 0);
    let count = u32::try_from(entries).map_err(|_| too_large(usize::MAX))?;
    bytes.extend_from_slice(&count.to_le_bytes());
    Ok(bytes)
}

/// A little more than the bytes `batch` takes in a record: its buffers (as allocated, so with their
/// spare capacity), the schema message, and room for the tag, length, framing and padding.
fn encoded_size_estimate(TableBatch { table, batch }: &TableBatch) -> usize {
    let schema = cached_schema_message(*table).map_or(0, <[u8]>::len);
    batch.get_array_memory_size() + schema + 1024 + batch.num_columns() * 512
}

/// Appends `batch` as an Arrow IPC stream: the bytes `StreamWriter` writes. A batch with its table's schema
/// (every batch the receivers make) starts with that schema's message encoded once per process: encoding it
/// per record was most of the cost of encoding a small batch.
fn write_ipc_stream(out: &mut Vec<u8>, table: Table, batch: &RecordBatch) -> Result<()> {
    let cached = match cached_schema_message(table) {
        // `Arc`'s equality compares the pointers first: the usual case costs no walk through the fields.
        Some(message) if *batch.schema_ref() == table.schema() => message,
        _ => {
            let mut writer = StreamWriter::try_new(&mut *out, batch.schema_ref())?;
            writer.write(batch)?;
            writer.finish()?;
            return Ok(());
        }
    };
    out.extend_from_slice(cached);
    let options = IpcWriteOptions::default();
    let (dictionaries, message) = IpcDataGenerator::default().encode(
        batch,
        &mut DictionaryTracker::new(false),
        &options,
        &mut IpcWriteContext::default(),
    )?;
    debug_assert!(dictionaries.is_empty(), "the cached schemas have no dictionaries");
    write_message(&mut *out, message, &options)?;
    out.extend_from_slice(&END_OF_STREAM);
    Ok(())
}

/// What ends an IPC stream: the continuation marker and a zero length.
const END_OF_STREAM: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

fn cached_schema_message(table: Table) -> Option<&'static [u8]> {
    SCHEMA_MESSAGES.iter().find(|(t, _)| *t == table).and_then(|(_, m)| m.as_deref())
}

/// Each table's schema as the first message of an IPC stream; `None` for a schema with dictionaries, whose
/// ids the stream's writer assigns.
static SCHEMA_MESSAGES: LazyLock<Vec<(Table, Option<Vec<u8>>)>> = LazyLock::new(|| {
    Table::ALL
        .iter()
        .map(|table| {
            let schema = table.schema();
            let dictionaries = schema
                .flattened_fields()
                .iter()
                .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
            let mut message = Vec::new();
            let written = StreamWriter::try_new(&mut message, &schema).is_ok();
            (*table, (written && !dictionaries).then_some(message))
        })
        .collect()
});

fn too_large(bytes: usize) -> Error {
    Error::WalRecordTooLarge { bytes, limit: MAX_PAYLOAD }
}

/// What reading one record from the front of a byte slice found.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// An intact record and its length on disk.
    Record { lsn: Lsn, batches: Vec<TableBatch>, len: usize },
    /// The slice is empty: a clean end.
    End,
    /// A torn or corrupt record: the reason.
    Damaged(String),
}

/// Reads the record at the start of `bytes`; `sources` makes the batches of a logged [`Source`] again (without
/// it, a record holding one reads as damaged).
pub(crate) fn decode(bytes: &[u8], sources: Option<&dyn SourceDecoder>) -> Decoded {
    if bytes.is_empty() {
        return Decoded::End;
    }
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Decoded::Damaged(format!(
            "torn record header ({} of {HEADER_LEN} bytes)",
            bytes.len()
        ));
    };
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length > MAX_PAYLOAD {
        return Decoded::Damaged(format!("record length {length} exceeds the limit {MAX_PAYLOAD}"));
    }
    let Some(body) = bytes.get(8..HEADER_LEN + length) else {
        return Decoded::Damaged(format!(
            "torn record: {length} payload bytes announced, {} present",
            bytes.len() - HEADER_LEN
        ));
    };
    if crc32c::crc32c(body) != crc {
        return Decoded::Damaged("checksum mismatch".to_owned());
    }
    let mut lsn = [0u8; 8];
    lsn.copy_from_slice(&body[..8]);
    match decode_payload(&body[8..], sources) {
        Ok(batches) => {
            Decoded::Record { lsn: u64::from_le_bytes(lsn), batches, len: HEADER_LEN + length }
        }
        Err(reason) => Decoded::Damaged(reason),
    }
}

fn decode_payload(
    payload: &[u8],
    sources: Option<&dyn SourceDecoder>,
) -> std::result::Result<Vec<TableBatch>, String> {
    let mut rest = payload;
    let count = take(&mut rest, 4).ok_or("truncated batch count")?;
    let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]);
    let mut out = Vec::new();
    for _ in 0..count {
        let header = take(&mut rest, 5).ok_or("truncated batch header")?;
        let length = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if header[0] == SOURCE_TAG {
            let content = take(&mut rest, length).ok_or("truncated source")?;
            out.extend(decode_source(content, sources)?);
            continue;
        }
        let table =
            Table::from_tag(header[0]).ok_or_else(|| format!("unknown table tag {}", header[0]))?;
        let ipc = take(&mut rest, length).ok_or("truncated batch")?;
        let reader = StreamReader::try_new(ipc, None).map_err(|e| format!("bad batch: {e}"))?;
        for batch in reader {
            out.push(TableBatch { table, batch: batch.map_err(|e| format!("bad batch: {e}"))? });
        }
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after the last batch", rest.len()));
    }
    Ok(out)
}

fn decode_source(
    mut content: &[u8],
    sources: Option<&dyn SourceDecoder>,
) -> std::result::Result<Vec<TableBatch>, String> {
    let header = take(&mut content, SOURCE_HEADER_LEN).ok_or("truncated source header")?;
    let format = header[0];
    let mut stamp = [0u8; 8];
    stamp.copy_from_slice(&header[1..]);
    let sources = sources.ok_or_else(|| format!("a source of format {format}, and no decoder"))?;
    sources
        .decode(format, i64::from_le_bytes(stamp), content)
        .map_err(|reason| format!("source of format {format} does not decode: {reason}"))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}
