//! CPU-heavy background work — flushes and compactions — runs on a thread of its own at a lower scheduling
//! priority, so that when the cores are busy a request waits less often for a core behind a flush's sort and
//! zstd. It cannot starve the flushes for long: a flush left behind fills the write buffer, intake is then
//! refused, and the cores go back to the flush.

use crate::{Error, Result};

/// The nice value of background threads: about a tenth of a request thread's share of a busy core (the
/// kernel's weights are 1024 at nice 0, 110 at nice 10).
const NICE: i32 = 10;

/// Runs `work` on a new thread named `name` at the background priority and waits for its result.
pub async fn run<T, F>(name: &str, work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority();
            // The receiver is gone only when the caller was cancelled; the result then has no one to go to.
            let _ = done.send(work());
        })
        .map_err(|source| Error::Io {
            what: "start a background thread",
            path: Default::default(),
            source,
        })?;
    result.await.map_err(|_| Error::Closed)?
}

/// Lowers the calling thread's priority (on Linux a thread id names that thread alone). Raising a nice value
/// needs no privilege; should it fail anyway, the work runs at normal priority.
fn lower_priority() {
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE) {
        tracing::debug!(%error, "lowering a background thread's priority failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_at_the_background_priority_and_returns_its_result() {
        let priority = run("test-background", || {
            Ok(rustix::process::getpriority_process(Some(rustix::thread::gettid()))
                .expect("priority"))
        })
        .await
        .expect("ran");
        let ours = rustix::process::getpriority_process(None).expect("priority");
        assert_eq!(priority, (ours + NICE).min(19));
        let failed: Result<()> = run("test-background", || Err(Error::Closed)).await;
        assert!(matches!(failed, Err(Error::Closed)));
    }
}
