//! The write-ahead log: every acknowledged ingest request is appended here, and fsynced, before the receiver
//! answers.
//!
//! A segment file is a sequence of records: `[payload length: u32 LE][CRC32C of payload: u32 LE][payload]`.
//! A payload holds the batches of one request, so a request is recovered whole or not at all:
//! `[batch count: u8]` then, per batch, `[table tag: u8][length: u32 LE][Arrow IPC stream]`.
//!
//! Group commit, replay into the write buffer and segment rotation come with the storage issue.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;

use crate::sink::{BatchSink, WriteFuture};
use crate::{Error, Result, Table, TableBatch};

const SEGMENT_SUFFIX: &str = ".wal";

/// Whether an append waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before acknowledging: an acknowledged request survives a power loss.
    Fsync,
    /// Leave flushing to the operating system: a crash of the machine (not of the process) can lose the last
    /// seconds of acknowledged data.
    None,
}

/// An open write-ahead log directory, appending to one segment.
#[derive(Debug)]
pub struct Wal {
    durability: Durability,
    segment: Mutex<Segment>,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    file: File,
}

impl Wal {
    /// Opens `dir` (creating it) and starts a new segment after the existing ones.
    pub fn open(dir: &Path, durability: Durability) -> Result<Wal> {
        fs::create_dir_all(dir).map_err(io("create wal directory", dir))?;
        let next_id =
            segment_paths(dir)?.last().and_then(|path| segment_id(path)).map_or(1, |id| id + 1);
        let path = dir.join(format!("{next_id:020}{SEGMENT_SUFFIX}"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io("create wal segment", &path))?;
        if durability == Durability::Fsync {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync wal directory", dir))?;
        }
        Ok(Wal { durability, segment: Mutex::new(Segment { path, file }) })
    }

    /// Appends the batches of one request as one record. Blocking: call it off the async runtime.
    pub fn append(&self, batches: &[TableBatch]) -> Result<()> {
        let payload = encode_payload(batches)?;
        let mut record = Vec::with_capacity(payload.len() + 8);
        let length = u32::try_from(payload.len()).map_err(|_| Error::CorruptWal {
            path: PathBuf::new(),
            offset: 0,
            reason: format!("a record of {} bytes exceeds the 4 GiB record limit", payload.len()),
        })?;
        record.extend_from_slice(&length.to_le_bytes());
        record.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        record.extend_from_slice(&payload);

        let mut segment = self.segment.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Segment { path, file } = &mut *segment;
        file.write_all(&record).map_err(io("append to wal segment", path))?;
        if self.durability == Durability::Fsync {
            file.sync_data().map_err(io("fsync wal segment", path))?;
        }
        Ok(())
    }
}

/// A [`BatchSink`] that makes each request durable in the WAL before acknowledging it.
#[derive(Debug, Clone)]
pub struct WalSink {
    wal: Arc<Wal>,
}

impl WalSink {
    pub fn new(wal: Wal) -> WalSink {
        WalSink { wal: Arc::new(wal) }
    }
}

impl BatchSink for WalSink {
    fn write(&self, batches: Vec<TableBatch>) -> WriteFuture<'_> {
        let wal = Arc::clone(&self.wal);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || wal.append(&batches))
                .await
                .map_err(|_| Error::Closed)?
        })
    }
}

/// Reads every record of every segment in `dir`, oldest first. A torn or corrupt record is an error naming
/// the segment and byte offset.
pub fn read_all(dir: &Path) -> Result<Vec<TableBatch>> {
    let mut batches = Vec::new();
    for path in segment_paths(dir)? {
        read_segment(&path, &mut batches)?;
    }
    Ok(batches)
}

fn read_segment(path: &Path, out: &mut Vec<TableBatch>) -> Result<()> {
    let file = File::open(path).map_err(io("open wal segment", path))?;
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    let corrupt = |offset, reason: &str| Error::CorruptWal {
        path: path.to_owned(),
        offset,
        reason: reason.to_owned(),
    };
    loop {
        let mut header = [0u8; 8];
        match read_exact_or_eof(&mut reader, &mut header).map_err(io("read wal segment", path))? {
            0 => return Ok(()),
            8 => {}
            _ => return Err(corrupt(offset, "torn record header")),
        }
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut payload = vec![0u8; length];
        if read_exact_or_eof(&mut reader, &mut payload).map_err(io("read wal segment", path))?
            != length
        {
            return Err(corrupt(offset, "torn record payload"));
        }
        if crc32c::crc32c(&payload) != crc {
            return Err(corrupt(offset, "checksum mismatch"));
        }
        decode_payload(&payload, out).map_err(|reason| corrupt(offset, &reason))?;
        offset += 8 + length as u64;
    }
}

fn encode_payload(batches: &[TableBatch]) -> Result<Vec<u8>> {
    let count = u8::try_from(batches.len()).map_err(|_| Error::CorruptWal {
        path: PathBuf::new(),
        offset: 0,
        reason: format!("{} batches in one record, at most 255", batches.len()),
    })?;
    let mut payload = vec![count];
    for TableBatch { table, batch } in batches {
        let mut ipc = Vec::new();
        let mut writer = StreamWriter::try_new(&mut ipc, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
        drop(writer);
        payload.push(table.tag());
        payload.extend_from_slice(&(ipc.len() as u32).to_le_bytes());
        payload.extend_from_slice(&ipc);
    }
    Ok(payload)
}

fn decode_payload(payload: &[u8], out: &mut Vec<TableBatch>) -> std::result::Result<(), String> {
    let (&count, mut rest) = payload.split_first().ok_or("empty payload")?;
    for _ in 0..count {
        if rest.len() < 5 {
            return Err("truncated batch header".into());
        }
        let table =
            Table::from_tag(rest[0]).ok_or_else(|| format!("unknown table tag {}", rest[0]))?;
        let length = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let ipc = rest.get(5..5 + length).ok_or("truncated batch")?;
        rest = &rest[5 + length..];
        let reader = StreamReader::try_new(ipc, None).map_err(|e| e.to_string())?;
        for batch in reader {
            out.push(TableBatch { table, batch: batch.map_err(|e| e.to_string())? });
        }
    }
    Ok(())
}

/// Like `read_exact`, but a clean end of file before the first byte returns 0 and a partial read returns the
/// number of bytes read.
fn read_exact_or_eof(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn segment_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list wal directory", dir)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(io("list wal directory", dir))?.path();
        if segment_id(&path).is_some() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn segment_id(path: &Path) -> Option<u64> {
    path.file_name()?.to_str()?.strip_suffix(SEGMENT_SUFFIX)?.parse().ok()
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}
