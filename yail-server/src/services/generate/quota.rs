//! What generation may cost the operator: how many generations one client
//! network (an IPv4 address, an IPv6 /64, as connections are counted) may
//! start in a minute, and how many the whole server may start in a day.
//!
//! The day is the last 24 hours, not a calendar day: a budget spent by a
//! burst comes back generation by generation, 24 hours after each.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

use super::error::GenError;
use crate::network::Network;
use crate::sync::lock;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// A spent budget, or a network's reached limit, is logged at most this
/// often: a client looping `gen` would otherwise write a line per refusal
/// (each refused request has its own, budgeted, request line already).
const LIMIT_LOG_EVERY: Duration = Duration::from_secs(60);

/// The generation limits of one server.
pub(super) struct Limits {
    per_minute: u32,
    per_day: u32,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// Starts of each network within the last minute, oldest first.
    by_network: HashMap<Network, VecDeque<Instant>>,
    /// Starts of the whole server within the last day, oldest first (at
    /// most `per_day` of them).
    day: VecDeque<Instant>,
    /// When a refusal for the spent budget was last logged.
    budget_logged: Option<Instant>,
    /// When each network's reached limit was last logged.
    limit_logged: HashMap<Network, Instant>,
}

/// A generation the limits let start, counted against the day's budget
/// until it is given back ([`Limits::refund`]).
#[derive(Debug)]
#[must_use]
pub(super) struct Admitted {
    at: Option<Instant>,
}

/// The day's budget as the admin page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Generations the server may start in 24 hours; 0: no limit.
    pub(crate) per_day: u32,
    /// Generations started in the last 24 hours (counted only with a limit).
    pub(crate) used: u32,
    /// When the oldest of them leaves the window, freeing one, if any.
    pub(crate) next_free_in: Option<Duration>,
}

impl Budget {
    /// Generations that may still start now; `None` without a limit.
    pub(crate) fn left(&self) -> Option<u32> {
        (self.per_day > 0).then(|| self.per_day.saturating_sub(self.used))
    }
}

impl Limits {
    /// `per_minute` generations per network and `per_day` for the whole
    /// server; 0: no limit.
    pub(super) fn new(per_minute: u32, per_day: u32) -> Limits {
        Limits {
            per_minute,
            per_day,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Lets a generation by `client` start at `now`, counting it against
    /// its network's minute and the server's day, or says how long to wait.
    /// A refusal counts against nothing.
    pub(super) fn admit(&self, client: IpAddr, now: Instant) -> Result<Admitted, GenError> {
        let network = Network::of(client);
        let mut counts = lock(&self.counts);
        counts.forget_before(now);
        if self.per_minute > 0 {
            let starts = counts.by_network.get(&network).map_or(0, VecDeque::len);
            if starts >= self.per_minute as usize {
                let oldest = counts.by_network.get(&network).and_then(|s| s.front());
                let wait = oldest.map_or(MINUTE, |&t| MINUTE.saturating_sub(now - t));
                let logged = counts.limit_logged.get(&network);
                if logged.is_none_or(|&at| now - at >= LIMIT_LOG_EVERY) {
                    counts.limit_logged.insert(network, now);
                    warn!(%network, "generation limit of a network reached");
                }
                return Err(GenError::RateLimited {
                    per_minute: self.per_minute,
                    wait_secs: wait.as_secs().max(1),
                });
            }
        }
        if self.per_day > 0 && counts.day.len() >= self.per_day as usize {
            let oldest = counts.day.front().copied();
            let wait = oldest.map_or(DAY, |t| DAY.saturating_sub(now - t));
            if counts
                .budget_logged
                .is_none_or(|at| now - at >= LIMIT_LOG_EVERY)
            {
                counts.budget_logged = Some(now);
                warn!(
                    per_day = self.per_day,
                    next_in_secs = wait.as_secs(),
                    "the server's generation budget is spent (--gen-per-day)"
                );
            }
            return Err(GenError::BudgetSpent {
                per_day: self.per_day,
                wait_secs: wait.as_secs().max(1),
            });
        }
        if self.per_minute > 0 {
            counts.by_network.entry(network).or_default().push_back(now);
        }
        if self.per_day == 0 {
            return Ok(Admitted { at: None });
        }
        counts.day.push_back(now);
        Ok(Admitted { at: Some(now) })
    }

    /// Gives a generation that cost nothing (the API refused it) back to
    /// the day's budget. Its network's minute still counts it, so a client
    /// cannot retry a refused request faster than its quota.
    pub(super) fn refund(&self, admitted: Admitted) {
        let Some(at) = admitted.at else { return };
        let mut counts = lock(&self.counts);
        if let Some(index) = counts.day.iter().rposition(|&t| t == at) {
            counts.day.remove(index);
        }
    }

    /// The day's budget at `now`.
    pub(super) fn budget(&self, now: Instant) -> Budget {
        let mut counts = lock(&self.counts);
        counts.forget_before(now);
        Budget {
            per_day: self.per_day,
            used: u32::try_from(counts.day.len()).unwrap_or(u32::MAX),
            next_free_in: counts.day.front().map(|&t| DAY.saturating_sub(now - t)),
        }
    }
}

impl Counts {
    /// Forgets starts that left their windows, and networks quiet for a
    /// minute, so the map stays as small as the set of recent clients.
    fn forget_before(&mut self, now: Instant) {
        let gone =
            |window: Duration| move |t: &Instant| now.saturating_duration_since(*t) >= window;
        self.by_network.retain(|_, starts| {
            while starts.front().is_some_and(gone(MINUTE)) {
                starts.pop_front();
            }
            !starts.is_empty()
        });
        self.limit_logged.retain(|_, at| !gone(LIMIT_LOG_EVERY)(at));
        while self.day.front().is_some_and(gone(DAY)) {
            self.day.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn rate_limit_counts_per_address_within_a_minute() {
        let limits = Limits::new(2, 0);
        let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
        let t0 = Instant::now();
        assert!(limits.admit(a, t0).is_ok());
        assert!(limits.admit(a, t0 + Duration::from_secs(10)).is_ok());
        let refused = limits.admit(a, t0 + Duration::from_secs(20));
        assert_eq!(
            refused.err(),
            Some(GenError::RateLimited {
                per_minute: 2,
                wait_secs: 40
            })
        );
        assert!(
            limits.admit(b, t0 + Duration::from_secs(20)).is_ok(),
            "other address"
        );
        assert!(
            limits.admit(a, t0 + Duration::from_secs(61)).is_ok(),
            "a minute later"
        );
        assert!(Limits::new(0, 0).admit(a, t0).is_ok(), "0 means no limit");
    }

    /// Found by the security review: each address of one IPv6 /64 had a
    /// quota of its own, so 20 of them made 120 generations in seconds
    /// against a limit of 6 a minute.
    #[test]
    fn every_address_of_an_ipv6_64_shares_one_quota() {
        let limits = Limits::new(6, 0);
        let t0 = Instant::now();
        let admitted = (0..20u16)
            .flat_map(|host| (0..7).map(move |_| host))
            .filter(|host| {
                let client = ip(&format!("2001:db8:1:2::{host:x}"));
                limits.admit(client, t0).is_ok()
            })
            .count();
        assert_eq!(admitted, 6);
        assert!(
            limits.admit(ip("2001:db8:1:3::1"), t0).is_ok(),
            "the next /64 is another network"
        );
    }

    /// Found by the soak run: a /64 looping `gen` wrote one warning per
    /// refused request, 1.7 GB of log in a minute.
    #[test]
    fn a_network_past_its_limit_is_logged_once_a_minute() {
        let limits = Limits::new(1, 0);
        let client = ip("2001:db8:1:2::1");
        let t0 = Instant::now();
        let logged = || {
            lock(&limits.counts)
                .limit_logged
                .get(&Network::of(client))
                .copied()
        };
        assert!(limits.admit(client, t0).is_ok());
        let first = t0 + Duration::from_secs(1);
        for secs in [1, 2, 30, 59] {
            assert!(
                limits
                    .admit(client, t0 + Duration::from_secs(secs))
                    .is_err()
            );
        }
        assert_eq!(logged(), Some(first), "one line for the first refusal");
        assert!(limits.admit(client, t0 + Duration::from_secs(61)).is_ok());
        let again = t0 + Duration::from_secs(62);
        assert!(limits.admit(client, again).is_err());
        assert_eq!(logged(), Some(again), "a minute later, a new line");
    }

    #[test]
    fn rate_limiter_forgets_quiet_addresses() {
        let limits = Limits::new(5, 0);
        let t0 = Instant::now();
        for i in 0..100u8 {
            let _ = limits.admit(IpAddr::from([127, 0, 1, i]), t0);
        }
        let _ = limits.admit(ip("127.0.0.1"), t0 + MINUTE);
        assert_eq!(lock(&limits.counts).by_network.len(), 1);
    }

    #[test]
    fn the_days_budget_counts_every_network_and_frees_24_hours_after_each_start() {
        let limits = Limits::new(6, 3);
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        for (i, at) in [t0, t0 + hour, t0 + 2 * hour].into_iter().enumerate() {
            assert!(limits.admit(IpAddr::from([127, 0, 0, i as u8]), at).is_ok());
        }
        let later = t0 + 3 * hour;
        assert_eq!(
            limits.admit(ip("192.0.2.1"), later).err(),
            Some(GenError::BudgetSpent {
                per_day: 3,
                wait_secs: 21 * 3600
            })
        );
        assert_eq!(
            limits.budget(later),
            Budget {
                per_day: 3,
                used: 3,
                next_free_in: Some(21 * hour)
            }
        );
        assert_eq!(limits.budget(later).left(), Some(0));
        assert!(
            limits.admit(ip("192.0.2.1"), t0 + DAY).is_ok(),
            "the first start left the window"
        );
        assert_eq!(Limits::new(6, 0).budget(later).left(), None, "no limit");
    }

    #[test]
    fn a_refusal_by_the_budget_costs_the_network_nothing_and_a_refund_frees_a_generation() {
        let limits = Limits::new(2, 1);
        let t0 = Instant::now();
        let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
        let starts = |client| {
            let counts = lock(&limits.counts);
            counts
                .by_network
                .get(&Network::of(client))
                .map_or(0, VecDeque::len)
        };
        let first = limits.admit(a, t0).expect("within both limits");
        assert!(matches!(
            limits.admit(b, t0),
            Err(GenError::BudgetSpent { .. })
        ));
        assert_eq!(starts(b), 0, "a refused start is not counted");
        limits.refund(first);
        assert_eq!(limits.budget(t0).used, 0);
        assert_eq!(starts(a), 1, "the network's minute still counts it");
        assert!(limits.admit(b, t0).is_ok(), "the refund made room");
    }
}
