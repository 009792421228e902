//! A bound on how many lines one source of log lines writes: a client
//! that asks for thousands of pictures a second, or a crowd of refused
//! connections, must not fill the log. Lines over the budget are counted,
//! and the next line that is written says how many were left out.

use std::time::{Duration, Instant};

/// A token bucket of log lines: `burst` lines at once, then one line per
/// `refill`.
#[derive(Debug)]
pub(crate) struct LogBudget {
    burst: u32,
    refill: Duration,
    tokens: u32,
    last_refill: Instant,
    unlogged: u64,
    unlogged_total: u64,
}

impl LogBudget {
    /// A full budget of `burst` lines, refilled by one every `refill`.
    pub(crate) fn new(burst: u32, refill: Duration) -> LogBudget {
        LogBudget {
            burst: burst.max(1),
            refill,
            tokens: burst.max(1),
            last_refill: Instant::now(),
            unlogged: 0,
            unlogged_total: 0,
        }
    }

    /// Whether a line may be written now: `Some(n)`, with the number of
    /// lines left out since the last one written, or `None` (the line is
    /// counted as left out).
    pub(crate) fn take(&mut self) -> Option<u64> {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Option<u64> {
        if self.refill.is_zero() {
            self.tokens = self.burst;
        } else {
            let earned =
                now.saturating_duration_since(self.last_refill).as_nanos() / self.refill.as_nanos();
            if earned > 0 {
                let earned = u32::try_from(earned).unwrap_or(u32::MAX);
                self.tokens = self.tokens.saturating_add(earned).min(self.burst);
                self.last_refill = now;
            }
        }
        if self.tokens == 0 {
            self.unlogged += 1;
            self.unlogged_total += 1;
            return None;
        }
        self.tokens -= 1;
        Some(std::mem::take(&mut self.unlogged))
    }

    /// Lines left out in all.
    pub(crate) fn unlogged_total(&self) -> u64 {
        self.unlogged_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_written_then_lines_are_counted_until_the_budget_refills() {
        let start = Instant::now();
        let mut budget = LogBudget::new(3, Duration::from_secs(1));
        budget.last_refill = start;
        for _ in 0..3 {
            assert_eq!(budget.take_at(start), Some(0));
        }
        for _ in 0..5 {
            assert_eq!(budget.take_at(start), None);
        }
        assert_eq!(budget.unlogged_total(), 5);
        assert_eq!(budget.take_at(start + Duration::from_millis(999)), None);
        // One second later, one line: it reports the six left out.
        assert_eq!(budget.take_at(start + Duration::from_secs(1)), Some(6));
        assert_eq!(budget.take_at(start + Duration::from_secs(1)), None);
        assert_eq!(budget.unlogged_total(), 7);
        // A long quiet time refills the burst, no more.
        let later = start + Duration::from_secs(3600);
        assert_eq!(budget.take_at(later), Some(1));
        assert_eq!(budget.take_at(later), Some(0));
        assert_eq!(budget.take_at(later), Some(0));
        assert_eq!(budget.take_at(later), None);
    }
}
