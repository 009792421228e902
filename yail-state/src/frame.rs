//! The newest frame of a live source (a camera): one producer publishes,
//! many sessions read.
//!
//! Readers load an `Arc` from an [`ArcSwap`] and never block, nor do they
//! delay the producer. Publishers take a small mutex among themselves so
//! that sequence numbers are stored in increasing order: a reader can
//! therefore never see a frame older than one it has already seen. Waiting
//! for a newer frame uses a condition variable that publishers notify while
//! holding its mutex, so a wake-up cannot slip between a reader's check
//! and its wait.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::lock;

/// One published frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Increases by one with every publication, starting at 1.
    pub seq: u64,
    /// The frame's bytes as the producer gave them (e.g. a JPEG).
    pub data: Arc<[u8]>,
}

/// A slot holding the most recent [`Frame`].
#[derive(Default)]
pub struct LatestFrame {
    current: ArcSwapOption<Frame>,
    /// Serialises publishers; guards the last sequence number handed out.
    publishing: Mutex<u64>,
    /// Paired with `wake` for readers waiting for something newer.
    waiting: Mutex<()>,
    wake: Condvar,
}

impl std::fmt::Debug for LatestFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatestFrame")
            .field("seq", &self.latest().map(|f| f.seq))
            .finish()
    }
}

impl LatestFrame {
    /// Publishes `data` as the newest frame; returns its sequence number.
    pub fn publish(&self, data: impl Into<Arc<[u8]>>) -> u64 {
        let data = data.into();
        let seq = {
            let mut last = lock(&self.publishing);
            *last += 1;
            self.current
                .store(Some(Arc::new(Frame { seq: *last, data })));
            *last
        };
        let _waiting = lock(&self.waiting);
        self.wake.notify_all();
        seq
    }

    /// The newest frame, if any has been published. Never blocks.
    pub fn latest(&self) -> Option<Arc<Frame>> {
        self.current.load_full()
    }

    /// Waits up to `timeout` for a frame with a sequence number above
    /// `seen`; returns it, or `None` on timeout. Blocks the calling thread:
    /// async callers should poll [`latest`](Self::latest) or run this on a
    /// blocking thread.
    pub fn wait_newer(&self, seen: u64, timeout: Duration) -> Option<Arc<Frame>> {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.waiting);
        loop {
            if let Some(frame) = self.latest().filter(|f| f.seq > seen) {
                return Some(frame);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = self
                .wake
                .wait_timeout(guard, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_reader_wakes_on_publication() {
        let slot = Arc::new(LatestFrame::default());
        let reader = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || slot.wait_newer(0, Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(20));
        slot.publish(vec![7u8]);
        let frame = reader.join().unwrap().expect("a frame");
        assert_eq!((frame.seq, &frame.data[..]), (1, &[7u8][..]));
    }

    #[test]
    fn waiting_times_out_without_a_newer_frame() {
        let slot = LatestFrame::default();
        slot.publish(vec![1u8]);
        assert!(slot.wait_newer(1, Duration::from_millis(10)).is_none());
        assert_eq!(slot.wait_newer(0, Duration::ZERO).map(|f| f.seq), Some(1));
    }
}
