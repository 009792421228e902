//! The newest frame of a live source (a camera): one producer publishes,
//! many sessions read.
//!
//! Readers load an `Arc` from an [`ArcSwap`] and never block, nor do they
//! delay the producer. Publishers take a small mutex among themselves so
//! that sequence numbers are stored in increasing order: a reader can
//! therefore never see a frame older than one it has already seen.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;

use crate::sync::lock;

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
        let mut last = lock(&self.publishing);
        *last += 1;
        self.current
            .store(Some(Arc::new(Frame { seq: *last, data })));
        *last
    }

    /// The newest frame, if any has been published. Never blocks.
    pub fn latest(&self) -> Option<Arc<Frame>> {
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_the_newest_frame_and_sequence_numbers_grow() {
        let slot = LatestFrame::default();
        assert!(slot.latest().is_none());
        assert_eq!(slot.publish(vec![1u8]), 1);
        assert_eq!(slot.publish(vec![7u8]), 2);
        let frame = slot.latest().expect("a frame");
        assert_eq!((frame.seq, &frame.data[..]), (2, &[7u8][..]));
    }
}
