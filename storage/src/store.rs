//! Where the Parquet data files live: a directory on the local file system (the default, under the data
//! directory) or an S3-compatible bucket, through the `object_store` crate. The WAL and the checkpoint always
//! stay in the local data directory.
//!
//! [`DataStore`] is the one handle [`crate::files`] writes, lists, reads and deletes files through, and the
//! one object store the query layer reads them from. The local backend keeps its own durability steps
//! (temporary name, fsync, rename, directory fsync) in `files`; for S3 a PUT of a whole object is atomic, and
//! so is a multipart upload (its object appears when the upload completes), so an object is either there
//! whole or not at all and no temporary names are needed. Files are written to a local staging file and
//! uploaded from it (in parts when large), and compaction downloads its inputs to staging files, so that
//! neither holds a whole file in memory.
//!
//! Object-store calls are async; the engine makes them from blocking code (flush and compaction threads, and
//! `Storage::open`, which tests call from inside an async runtime). They therefore run on a small runtime of
//! their own (`IoRuntime`): a blocking caller spawns the request there and waits for it, which never
//! blocks a thread of the daemon's runtime on its own work and works whatever context the caller is in. The
//! S3 client spawns its HTTP connections on that runtime too, so DataFusion's reads, which run on the
//! daemon's runtime, share the same connection pool without tying connections to a runtime that may stop.

use std::fmt;
use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::client::SpawnedReqwestConnector;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Error, Result};

/// Footer bytes fetched in one GET when a file's metadata is read from an object store; enough for the
/// footers sightline writes, and a second GET fetches the rest when one is larger.
const FOOTER_HINT_BYTES: u64 = 64 * 1024;
/// Footers read at once when listing an object store at start.
const CONCURRENT_FOOTER_READS: usize = 16;
/// Under the data directory: local copies of objects being written or compacted.
const STAGING_DIR: &str = "staging";
/// A file up to this size is uploaded in one PUT; a larger one in parts of this size (S3's minimum part
/// size is 5 MiB), a few at once, so an upload holds a few parts in memory whatever the file's size.
const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
const CONCURRENT_UPLOAD_PARTS: usize = 2;

/// Where the data files are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FileLocation {
    /// Under the data directory.
    #[default]
    DataDir,
    /// In an S3-compatible bucket.
    S3(S3Options),
}

/// An S3-compatible bucket. Unset credentials and region fall back to the standard AWS environment
/// variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, …).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    pub bucket: String,
    pub region: Option<String>,
    /// For S3-compatible servers (MinIO, R2, moto…); unset means AWS.
    pub endpoint: Option<String>,
    /// Key prefix under which this node's files live (`node-a` → `node-a/logs/date=…`).
    pub prefix: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allows a plain `http://` endpoint.
    pub allow_http: bool,
}

// Credentials never reach logs.
impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "***");
        f.debug_struct("S3Options")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("access_key_id", &redacted(&self.access_key_id))
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Options {
    /// `s3://bucket/prefix`, and the endpoint when it is not AWS: how errors and logs name the bucket.
    pub fn describe(&self) -> String {
        let mut text = format!("s3://{}", self.bucket);
        if let Some(prefix) = self.prefix.as_deref().filter(|p| !p.is_empty()) {
            text.push('/');
            text.push_str(prefix.trim_matches('/'));
        }
        if let Some(endpoint) = &self.endpoint {
            text.push_str(" at ");
            text.push_str(endpoint);
        }
        text
    }
}

/// The data files' store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DataStore {
    backend: Arc<Backend>,
}

#[derive(Debug)]
pub(crate) enum Backend {
    /// Files under this directory, written with std::fs.
    Local(PathBuf),
    Object(ObjectFiles),
}

impl DataStore {
    /// Opens the store the data files of `data_dir` live in. For S3 it checks that the bucket answers, so a
    /// wrong endpoint, bucket or credential fails the start with a message naming them. Blocking.
    pub fn open(data_dir: &Path, location: &FileLocation) -> Result<DataStore> {
        let backend = match location {
            FileLocation::DataDir => Backend::Local(data_dir.to_owned()),
            FileLocation::S3(options) => {
                Backend::Object(ObjectFiles::s3(options, data_dir.join(STAGING_DIR))?)
            }
        };
        Ok(DataStore { backend: Arc::new(backend) })
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The same files as an [`ObjectStore`], for the query layer.
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>> {
        match &*self.backend {
            Backend::Local(root) => {
                let store = LocalFileSystem::new_with_prefix(root).map_err(|source| {
                    Error::ObjectStore {
                        what: "open data directory",
                        location: root.display().to_string(),
                        source,
                    }
                })?;
                Ok(Arc::new(store))
            }
            Backend::Object(objects) => Ok(Arc::clone(&objects.store)),
        }
    }

    /// How errors name a file of the store.
    pub(crate) fn location(&self, relative: &str) -> PathBuf {
        match &*self.backend {
            Backend::Local(root) => root.join(relative),
            Backend::Object(objects) => PathBuf::from(format!("{}/{relative}", objects.url)),
        }
    }
}

/// Data files in an object store, called from blocking code.
pub(crate) struct ObjectFiles {
    store: Arc<dyn ObjectStore>,
    io: IoRuntime,
    /// `s3://bucket/prefix`, for messages.
    url: String,
    /// Local directory for the files being uploaded or compacted (see [`ObjectFiles::staging_file`]).
    staging: PathBuf,
}

impl fmt::Debug for ObjectFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectFiles").field("url", &self.url).finish_non_exhaustive()
    }
}

/// One object of a listing: its key relative to the store root, and its size.
pub(crate) struct Listed {
    pub path: String,
    pub size_bytes: u64,
    pub metadata: ParquetMetaData,
}

impl ObjectFiles {
    fn s3(options: &S3Options, staging: PathBuf) -> Result<ObjectFiles> {
        let io = IoRuntime::get()?;
        let describe = options.describe();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&options.bucket)
            // A failing request is retried a few times, quickly: the flusher retries a failed flush as a
            // whole, and a start against a wrong endpoint should fail in seconds, not minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            )
            // After the client options, which it is part of.
            .with_allow_http(options.allow_http)
            .with_http_connector(SpawnedReqwestConnector::new(io.handle()));
        if let Some(region) = &options.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &options.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &options.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &options.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let s3 = builder.build().map_err(|source| Error::ObjectStore {
            what: "configure bucket",
            location: describe.clone(),
            source,
        })?;
        let prefix = options.prefix.as_deref().unwrap_or("").trim_matches('/');
        let store: Arc<dyn ObjectStore> =
            if prefix.is_empty() { Arc::new(s3) } else { Arc::new(PrefixStore::new(s3, prefix)) };
        let url = match prefix {
            "" => format!("s3://{}", options.bucket),
            prefix => format!("s3://{}/{prefix}", options.bucket),
        };
        let objects = ObjectFiles { store, io, url, staging };
        let store = Arc::clone(&objects.store);
        objects.io.run(async move { store.list_with_delimiter(None).await })?.map_err(
            |source| Error::ObjectStore { what: "cannot reach bucket", location: describe, source },
        )?;
        Ok(objects)
    }

    fn error(
        &self,
        what: &'static str,
        relative: &str,
    ) -> impl FnOnce(object_store::Error) -> Error {
        let location = format!("{}/{relative}", self.url);
        move |source| Error::ObjectStore { what, location, source }
    }

    /// Stores a whole object in one PUT: it appears complete or not at all.
    pub fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        let (store, path) = (Arc::clone(&self.store), object_path(relative)?);
        let put = self.io.run(async move { store.put(&path, PutPayload::from(bytes)).await })?;
        put.map(drop).map_err(self.error("write data file", relative))
    }

    /// The whole object.
    pub fn get(&self, relative: &str) -> Result<bytes::Bytes> {
        let (store, path) = (Arc::clone(&self.store), object_path(relative)?);
        let got = self.io.run(async move { store.get(&path).await?.bytes().await })?;
        got.map_err(self.error("read data file", relative))
    }

    /// A fresh path for a local copy of an object: a file written before its upload, or an input of a
    /// compaction. The caller deletes it when done; [`ObjectFiles::remove_staging`] clears what a crash left.
    pub fn staging_file(&self) -> Result<PathBuf> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(&self.staging)
            .map_err(io_error("create staging directory", &self.staging))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Ok(self.staging.join(format!("{n}.parquet")))
    }

    /// Deletes the staging files a crash left behind. Only the process that owns the data directory may
    /// call it.
    pub fn remove_staging(&self) -> Result<()> {
        match fs::remove_dir_all(&self.staging) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_error("remove staging directory", &self.staging)(e))
            }
            _ => Ok(()),
        }
    }

    /// Stores the local file `local` as an object: one PUT when it is small, else a multipart upload, whose
    /// object appears only when the upload completes, whole. An upload that fails is aborted; one that a
    /// crash interrupts stays invisible (a bucket lifecycle rule for incomplete multipart uploads reclaims
    /// its parts).
    pub fn upload(&self, relative: &str, local: &Path) -> Result<()> {
        let size = fs::metadata(local).map_err(io_error("stat staging file", local))?.len();
        if size <= UPLOAD_PART_BYTES as u64 {
            let bytes = fs::read(local).map_err(io_error("read staging file", local))?;
            return self.put(relative, bytes);
        }
        let (store, path) = (Arc::clone(&self.store), object_path(relative)?);
        let (local, location) = (local.to_owned(), format!("{}/{relative}", self.url));
        self.io.run(async move {
            let failed = |what| {
                let location = location.clone();
                move |source| Error::ObjectStore { what, location, source }
            };
            let upload =
                store.put_multipart(&path).await.map_err(failed("start upload of data file"))?;
            let mut parts = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
            let sent = send_parts(&mut parts, &local, &location).await;
            match sent {
                Ok(()) => parts.finish().await.map(drop).map_err(failed("upload data file")),
                Err(error) => {
                    let _ = parts.abort().await;
                    Err(error)
                }
            }
        })?
    }

    /// Copies the object `relative` to the local file `local`, streamed.
    pub fn download(&self, relative: &str, local: &Path) -> Result<()> {
        let (store, path) = (Arc::clone(&self.store), object_path(relative)?);
        let local = local.to_owned();
        let downloaded = self.io.run(async move {
            let mut file = tokio::fs::File::create(&local)
                .await
                .map_err(io_error("create staging file", &local))?;
            let mut chunks = store.get(&path).await.map_err(Download::Get)?.into_stream();
            while let Some(chunk) = chunks.try_next().await.map_err(Download::Get)? {
                file.write_all(&chunk).await.map_err(io_error("write staging file", &local))?;
            }
            file.flush().await.map_err(io_error("write staging file", &local))?;
            Ok::<(), Download>(())
        })?;
        downloaded.map_err(|error| match error {
            Download::Get(source) => self.error("read data file", relative)(source),
            Download::Local(error) => error,
        })
    }

    pub fn delete(&self, relative: &str) -> Result<()> {
        let (store, path) = (Arc::clone(&self.store), object_path(relative)?);
        let deleted = self.io.run(async move { store.delete(&path).await })?;
        deleted.map_err(self.error("delete data file", relative))
    }

    /// Every `.parquet` object under `prefix`, with its footer: one LIST, then one ranged GET per object
    /// (a few at once). Only opening the store lists it; the engine keeps its own catalog afterwards.
    pub fn list_parquet(&self, prefix: &str) -> Result<Vec<Listed>> {
        let (store, path) = (Arc::clone(&self.store), object_path(prefix)?);
        let listed = self.io.run(async move {
            let objects: Vec<_> = store.list(Some(&path)).try_collect().await?;
            futures::stream::iter(objects)
                .filter(|meta| futures::future::ready(meta.location.as_ref().ends_with(".parquet")))
                .map(|meta| {
                    let store = Arc::clone(&store);
                    async move {
                        let metadata = read_footer(&*store, &meta.location, meta.size).await;
                        (meta.location.to_string(), meta.size, metadata)
                    }
                })
                .buffer_unordered(CONCURRENT_FOOTER_READS)
                .map(Ok::<_, object_store::Error>)
                .try_collect::<Vec<_>>()
                .await
        })?;
        let mut files = Vec::new();
        for (path, size_bytes, metadata) in listed.map_err(self.error("list data files", prefix))? {
            let metadata = metadata.map_err(|reason| Error::CorruptData {
                path: PathBuf::from(format!("{}/{path}", self.url)),
                reason,
            })?;
            files.push(Listed { path, size_bytes, metadata });
        }
        Ok(files)
    }
}

/// Why a download failed: the GET (named by the caller) or the local file.
enum Download {
    Get(object_store::Error),
    Local(Error),
}

impl From<Error> for Download {
    fn from(error: Error) -> Download {
        Download::Local(error)
    }
}

/// Sends the file `local` to `parts`, a part at a time, with at most [`CONCURRENT_UPLOAD_PARTS`] in flight;
/// `location` names the object in errors.
async fn send_parts(parts: &mut WriteMultipart, local: &Path, location: &str) -> Result<()> {
    let mut file =
        tokio::fs::File::open(local).await.map_err(io_error("open staging file", local))?;
    loop {
        parts.wait_for_capacity(CONCURRENT_UPLOAD_PARTS).await.map_err(|source| {
            Error::ObjectStore { what: "upload data file", location: location.to_owned(), source }
        })?;
        let mut part = Vec::with_capacity(UPLOAD_PART_BYTES);
        (&mut file)
            .take(UPLOAD_PART_BYTES as u64)
            .read_to_end(&mut part)
            .await
            .map_err(io_error("read staging file", local))?;
        if part.is_empty() {
            return Ok(());
        }
        parts.put(part.into());
    }
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_owned(), source }
}

/// Reads a Parquet footer with a ranged GET of the object's tail (two when the footer is larger).
async fn read_footer(
    store: &dyn ObjectStore,
    location: &ObjectPath,
    size: u64,
) -> std::result::Result<ParquetMetaData, String> {
    let mut suffix = FOOTER_HINT_BYTES.min(size);
    loop {
        let tail =
            store.get_range(location, size - suffix..size).await.map_err(|e| e.to_string())?;
        let mut reader = ParquetMetaDataReader::new();
        match reader.try_parse_sized(&tail, size) {
            Ok(()) => return reader.finish().map_err(|e| e.to_string()),
            Err(parquet::errors::ParquetError::NeedMoreData(needed))
                if (needed as u64) > suffix && (needed as u64) <= size =>
            {
                suffix = needed as u64;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn object_path(relative: &str) -> Result<ObjectPath> {
    ObjectPath::parse(relative).map_err(|e| Error::CorruptData {
        path: PathBuf::from(relative),
        reason: format!("not a valid object key: {e}"),
    })
}

/// The runtime object-store requests run on, for blocking callers (see the module documentation for why it
/// is separate from the daemon's). One per process, started by the first object store opened, and never
/// stopped: the S3 client's connections live on it, and every handle to a store may use them until the
/// process ends, whichever handle outlives the others.
#[derive(Debug, Clone, Copy)]
struct IoRuntime(&'static tokio::runtime::Runtime);

impl IoRuntime {
    fn get() -> Result<IoRuntime> {
        static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
            OnceLock::new();
        let runtime = RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sightline-object-store")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        });
        match runtime {
            Ok(runtime) => Ok(IoRuntime(runtime)),
            Err(reason) => Err(Error::Io {
                what: "start the object store runtime",
                path: PathBuf::new(),
                source: std::io::Error::other(reason.clone()),
            }),
        }
    }

    fn handle(self) -> tokio::runtime::Handle {
        self.0.handle().clone()
    }

    /// Runs `future` on this runtime and waits for it on the calling thread, which must be allowed to block.
    fn run<F>(self, future: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.0.spawn(future);
        futures::executor::block_on(task).map_err(|_| Error::Closed)
    }
}
