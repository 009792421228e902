//! A picture a source prepares while the Atari shows the current one.

use std::future::Future;

use tokio::task::JoinHandle;
use yail_proto::GfxMode;

/// Work started for the next request in the mode the client asked for;
/// aborted when dropped unused (the session moved on, or the mode changed).
pub(crate) struct Prefetch<T> {
    mode: GfxMode,
    task: JoinHandle<T>,
}

impl<T: Send + 'static> Prefetch<T> {
    /// Starts `work` for a next request in `mode`.
    pub(crate) fn spawn(mode: GfxMode, work: impl Future<Output = T> + Send + 'static) -> Self {
        Prefetch {
            mode,
            task: tokio::spawn(work),
        }
    }

    /// What was prepared, once it is ready, if it was for `mode`; `None`
    /// for another mode or when the work did not finish.
    pub(crate) async fn take(mut self, mode: GfxMode) -> Option<T> {
        if self.mode != mode {
            return None;
        }
        (&mut self.task).await.ok()
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
