//! How many generations one client address may start per minute:
//! generations cost the operator money.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

use super::error::GenError;
use crate::sync::lock;

const MINUTE: Duration = Duration::from_secs(60);

/// Generations started per client address in the last minute.
pub(super) struct Quota {
    per_minute: u32,
    starts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Quota {
    /// `per_minute` generations per address; 0: no limit.
    pub(super) fn new(per_minute: u32) -> Quota {
        Quota {
            per_minute,
            starts: Mutex::new(HashMap::new()),
        }
    }

    /// Records a generation by `client` at `now`, or says how long it must
    /// wait.
    pub(super) fn check(&self, client: IpAddr, now: Instant) -> Result<(), GenError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut starts = lock(&self.starts);
        // Forget addresses quiet for a minute, so the map stays as small
        // as the set of recent clients.
        starts.retain(|_, times| {
            while times
                .front()
                .is_some_and(|&t| now.saturating_duration_since(t) >= MINUTE)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = starts.entry(client).or_default();
        if times.len() >= self.per_minute as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = MINUTE.saturating_sub(now.saturating_duration_since(oldest));
            warn!(%client, "generation rate limit reached");
            return Err(GenError::RateLimited {
                per_minute: self.per_minute,
                wait_secs: wait.as_secs().max(1),
            });
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_per_address_within_a_minute() {
        let quota = Quota::new(2);
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let t0 = Instant::now();
        assert!(quota.check(a, t0).is_ok());
        assert!(quota.check(a, t0 + Duration::from_secs(10)).is_ok());
        let refused = quota.check(a, t0 + Duration::from_secs(20));
        assert_eq!(
            refused,
            Err(GenError::RateLimited {
                per_minute: 2,
                wait_secs: 40
            })
        );
        assert!(
            quota.check(b, t0 + Duration::from_secs(20)).is_ok(),
            "other address"
        );
        assert!(
            quota.check(a, t0 + Duration::from_secs(61)).is_ok(),
            "a minute later"
        );
        assert!(Quota::new(0).check(a, t0).is_ok(), "0 means no limit");
    }

    #[test]
    fn rate_limiter_forgets_quiet_addresses() {
        let quota = Quota::new(5);
        let t0 = Instant::now();
        for i in 0..100u8 {
            let _ = quota.check(IpAddr::from([127, 0, 1, i]), t0);
        }
        let _ = quota.check(IpAddr::from([127, 0, 0, 1]), t0 + MINUTE);
        assert_eq!(quota.starts.lock().map(|s| s.len()).unwrap_or(0), 1);
    }
}
