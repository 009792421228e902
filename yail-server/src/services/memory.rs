//! Handing freed memory back to the system once the server goes quiet.
//!
//! glibc keeps freed memory for reuse, and the server's allocator tuning
//! (`yail_core::malloc::keep_freed_memory`) raises its thresholds so large
//! picture buffers stay in the heap between conversions. After a burst
//! (10,000 sessions of 10 pictures each, or 128 `showurl` downloads of
//! 20 MB) the resident size would stay at the burst's peak for good. So
//! once nothing has happened for a while (no connection opened or closed,
//! no packet sent), and something had happened since the last time, the
//! freed memory is handed back; and at least every few minutes while the
//! server never goes quiet. A trim takes milliseconds on a blocking
//! thread; memory still in use is not touched.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use yail_state::ServerState;

/// How long nothing must happen before the server counts as quiet (and
/// how often it looks).
pub(crate) const QUIET: Duration = Duration::from_secs(5);
/// The longest a busy server goes without a trim, if anything happened.
const BUSY_TRIM_EVERY: Duration = Duration::from_secs(300);

/// What the server has done, as far as its memory is concerned.
fn activity(state: &ServerState) -> (u64, usize, u64) {
    let metrics = state.metrics().snapshot();
    (
        metrics.connections_total,
        metrics.connections_current,
        metrics.packets_total(),
    )
}

/// Calls `trim` (on a blocking thread) when the server has been quiet for
/// [`QUIET`] after doing something, or after [`BUSY_TRIM_EVERY`] of
/// uninterrupted activity, until `stop` fires.
pub(crate) async fn trim_when_quiet<F>(state: ServerState, stop: CancellationToken, trim: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let trim = std::sync::Arc::new(trim);
    let busy_checks = (BUSY_TRIM_EVERY.as_secs() / QUIET.as_secs()).max(1);
    let mut seen = activity(&state);
    let mut trimmed = seen;
    let mut checks_since_trim = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(QUIET) => {}
        }
        let now = activity(&state);
        checks_since_trim += 1;
        let quiet = now == seen && now != trimmed;
        let long_busy = checks_since_trim >= busy_checks && now != trimmed;
        seen = now;
        if quiet || long_busy {
            let trim = trim.clone();
            // A trim that panicked has trimmed nothing; the next quiet
            // spell tries again, so its failure is not worth more.
            let _ = tokio::task::spawn_blocking(move || trim()).await;
            trimmed = now;
            checks_since_trim = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Time is paused: each sleep ends as soon as nothing else can run,
    //! and the clock does not move while a trim runs on its blocking
    //! thread, so a check's trim has been counted before the test's next
    //! sleep ends.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A server state with the trimmer watching it; its trims are counted.
    struct Watched {
        state: ServerState,
        trims: Arc<AtomicUsize>,
        stop: CancellationToken,
    }

    impl Watched {
        async fn start() -> Watched {
            let state = ServerState::new();
            let stop = CancellationToken::new();
            let trims = Arc::new(AtomicUsize::new(0));
            let counter = trims.clone();
            tokio::spawn(trim_when_quiet(state.clone(), stop.clone(), move || {
                counter.fetch_add(1, Ordering::Relaxed);
            }));
            // Half a period out of step with the checks, so that every
            // change a test makes falls between two of them.
            tokio::time::sleep(QUIET / 2).await;
            Watched { state, trims, stop }
        }

        fn trims(&self) -> usize {
            self.trims.load(Ordering::Relaxed)
        }

        fn send_packet(&self) {
            self.state.metrics().record_packet(8, 100);
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            self.stop.cancel();
        }
    }

    /// Lets `n` checks go by.
    async fn checks(n: u64) {
        tokio::time::sleep(QUIET * u32::try_from(n).unwrap_or(u32::MAX)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_server_is_never_trimmed() {
        let watched = Watched::start().await;
        checks(100).await;
        assert_eq!(watched.trims(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_trimmed_once_when_a_burst_ends() {
        let watched = Watched::start().await;
        let guard = watched.state.connect("127.0.0.1:1000".parse().unwrap());
        watched.send_packet();
        checks(1).await;
        watched.send_packet();
        checks(1).await;
        drop(guard);
        checks(1).await;
        assert_eq!(watched.trims(), 0, "something happened before every check");
        checks(1).await;
        assert_eq!(watched.trims(), 1, "one quiet period: one trim");
        checks(50).await;
        assert_eq!(watched.trims(), 1, "nothing new to hand back");

        watched.send_packet();
        checks(2).await;
        assert_eq!(watched.trims(), 2, "the next burst's end: another");
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_goes_quiet_is_trimmed_every_few_minutes() {
        let watched = Watched::start().await;
        let busy_checks = BUSY_TRIM_EVERY.as_secs() / QUIET.as_secs();
        for _ in 0..busy_checks - 1 {
            watched.send_packet();
            checks(1).await;
        }
        assert_eq!(watched.trims(), 0);
        watched.send_packet();
        checks(1).await;
        assert_eq!(watched.trims(), 1);
        for _ in 0..busy_checks {
            watched.send_packet();
            checks(1).await;
        }
        assert_eq!(watched.trims(), 2);
    }
}
