//! The admin page's "try it" conversions: the last few are kept so their
//! packets stay downloadable.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use crate::sync::lock;
use tokio::sync::Semaphore;

/// Tries whose packets stay downloadable.
pub(super) const KEPT_TRIES: usize = 4;

pub(super) struct Try {
    pub(super) id: u64,
    /// Wire value and packet of every mode that converted.
    pub(super) packets: Vec<(u8, Arc<[u8]>)>,
}

/// The last few tries, and a gate that runs one at a time (each is eight
/// conversions, in the pipeline's worker slots and decode memory budget,
/// beside the Ataris being served).
pub(crate) struct Tries {
    pub(super) next_id: AtomicU64,
    kept: Mutex<VecDeque<Arc<Try>>>,
    pub(super) one_at_a_time: Semaphore,
}

impl Default for Tries {
    fn default() -> Tries {
        Tries {
            next_id: AtomicU64::new(0),
            kept: Mutex::new(VecDeque::new()),
            one_at_a_time: Semaphore::new(1),
        }
    }
}

impl Tries {
    pub(super) fn get(&self, id: u64) -> Option<Arc<Try>> {
        let kept = lock(&self.kept);
        kept.iter().find(|t| t.id == id).cloned()
    }

    pub(super) fn keep(&self, attempt: Arc<Try>) {
        let mut kept = lock(&self.kept);
        if kept.len() == KEPT_TRIES {
            kept.pop_front();
        }
        kept.push_back(attempt);
    }
}
