//! Starts the daemon. Placeholder: the real implementation lives on another branch and
//! replaces this file on merge; only the signature is a contract.

use crate::config;

pub async fn run(config: config::Config) -> anyhow::Result<()> {
    tracing::info!(data_dir = %config.data_dir.display(), "sightline serve placeholder started");
    Ok(())
}
