//! The two places data files can live, for tests that must hold on both: a temporary local directory, and a
//! fresh bucket on the real S3-compatible test server ([`crate::test_s3`]). [`on_both_backends!`] turns one
//! test body into a test per backend.

use std::path::Path;

use futures::TryStreamExt;
use tempfile::TempDir;

use crate::engine::StorageOptions;
use crate::store::{DataStore, FileLocation};

/// A data directory (WAL, checkpoint) and where its data files go.
pub struct Backend {
    pub dir: TempDir,
    pub files: FileLocation,
}

impl Backend {
    pub fn local() -> Backend {
        Backend {
            dir: tempfile::tempdir().expect("temporary directory"),
            files: FileLocation::DataDir,
        }
    }

    pub fn s3() -> Backend {
        Backend {
            dir: tempfile::tempdir().expect("temporary directory"),
            files: FileLocation::S3(crate::test_s3::fresh_bucket()),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn options(&self) -> StorageOptions {
        StorageOptions { files: self.files.clone(), ..StorageOptions::new(self.dir.path()) }
    }

    pub fn store(&self) -> DataStore {
        DataStore::open(self.dir.path(), &self.files).expect("open the data store")
    }

    /// Parquet objects under `prefix` as the store itself lists them (temporary local files included).
    pub async fn parquet_objects(&self, prefix: &str) -> Vec<String> {
        let store = self.store().object_store().expect("object store");
        let prefix = object_store::path::Path::from(prefix);
        let objects: Vec<_> =
            store.list(Some(&prefix)).try_collect().await.expect("list the data files");
        let mut paths: Vec<String> = objects
            .into_iter()
            .map(|meta| meta.location.to_string())
            .filter(|path| path.ends_with(".parquet"))
            .collect();
        paths.sort();
        paths
    }
}

/// One test per backend for each listed body `async fn name(backend: Backend)` (or plain `fn`):
/// `local::name` and `s3::name`, each under the test attribute given.
macro_rules! on_both_backends {
    ($(#[$test:meta] async fn $name:ident;)*) => {
        mod local {
            $(#[$test] async fn $name() { super::$name(super::Backend::local()).await })*
        }
        mod s3 {
            $(#[$test] async fn $name() { super::$name(super::Backend::s3()).await })*
        }
    };
    ($(#[$test:meta] fn $name:ident;)*) => {
        mod local {
            $(#[$test] fn $name() { super::$name(super::Backend::local()) })*
        }
        mod s3 {
            $(#[$test] fn $name() { super::$name(super::Backend::s3()) })*
        }
    };
}
pub(crate) use on_both_backends;
