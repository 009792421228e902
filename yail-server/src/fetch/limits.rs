//! What clients' downloads may take from the server, beyond each fetch's
//! own bounds: a quota of fetches at once per client network (counted like
//! `--max-per-ip`: an IPv4 address, an IPv6 /64), so one household cannot
//! open hundreds of connections through the server; and a budget of body
//! bytes held across the server, so many large downloads at once cannot
//! exhaust its memory.
//!
//! The budget is reserved as a body arrives: the whole declared
//! `Content-Length` up front (waiting, within the fetch's timeout, until
//! that much is free), and for a body of unknown length (chunked, or
//! decompressed) in steps as it grows. A step that does not fit fails at
//! once instead of waiting: two downloads each holding part of the budget
//! and waiting for more would otherwise wait on each other.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::network::Network;
use crate::sync::lock;

/// The budget counts in KiB, so that a 32-bit build's semaphore (at most
/// 2^29 permits) still holds a budget of many GiB.
const UNIT: u64 = 1024;

/// A body of unknown length reserves this much at a time.
pub(super) const GROWTH_STEP: u64 = 256 * 1024;

/// Why the budget cannot cover a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The body is larger than the whole budget, of this many bytes.
    LargerThanBudget(u64),
    /// Other downloads hold the budget now.
    Busy,
}

/// The quota and the budget; clones share them.
#[derive(Clone)]
pub(super) struct Limits {
    inner: Arc<Inner>,
}

struct Inner {
    per_network: usize,
    /// One semaphore per network with a fetch running or waiting; removed
    /// when its last fetch ends, so the map holds only active networks.
    networks: Mutex<HashMap<Network, Arc<Semaphore>>>,
    bytes: Arc<Semaphore>,
    budget_units: u32,
}

impl Limits {
    /// At most `per_network` fetches at once per client network (at least
    /// one), and at most `budget_bytes` of bodies held at once.
    pub(super) fn new(per_network: usize, budget_bytes: u64) -> Limits {
        let units = budget_bytes
            .div_ceil(UNIT)
            .clamp(1, (Semaphore::MAX_PERMITS as u64).min(u64::from(u32::MAX)));
        let budget_units = u32::try_from(units).unwrap_or(u32::MAX);
        Limits {
            inner: Arc::new(Inner {
                per_network: per_network.max(1),
                networks: Mutex::new(HashMap::new()),
                bytes: Arc::new(Semaphore::new(budget_units as usize)),
                budget_units,
            }),
        }
    }

    /// A place among the fetches of `client`'s network, waiting for one to
    /// end when the network has its quota running.
    pub(super) async fn network(&self, client: IpAddr) -> NetworkPermit {
        let key = Network::of(client);
        let semaphore = {
            let mut networks = lock(&self.inner.networks);
            Arc::clone(
                networks
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.inner.per_network))),
            )
        };
        // Made before waiting, so that a fetch cancelled while it waits
        // still forgets a network nobody else uses.
        let mut place = NetworkPermit {
            permit: None,
            semaphore: Some(Arc::clone(&semaphore)),
            key,
            limits: self.clone(),
        };
        // The semaphore is never closed, so acquiring cannot fail; were it
        // to, the fetch would go on without a place rather than never.
        place.permit = semaphore.acquire_owned().await.ok();
        place
    }

    /// Fetches running for the network of `client` (for tests and status).
    pub(super) fn running_for(&self, client: IpAddr) -> usize {
        let key = Network::of(client);
        lock(&self.inner.networks).get(&key).map_or(0, |semaphore| {
            self.inner
                .per_network
                .saturating_sub(semaphore.available_permits())
        })
    }

    /// Reserves `bytes` of the budget, waiting until they are free.
    ///
    /// # Errors
    /// [`Refusal::LargerThanBudget`] when `bytes` exceed the whole budget.
    pub(super) async fn reserve(&self, bytes: u64) -> Result<Reservation, Refusal> {
        let units = self.units(bytes)?;
        let permit = Arc::clone(&self.inner.bytes)
            .acquire_many_owned(units)
            .await
            .map_err(|_| Refusal::Busy)?;
        Ok(Reservation {
            permit: Some(permit),
            bytes,
        })
    }

    /// Grows `reservation` to cover `bytes` in all if that much is free
    /// now; never waits.
    ///
    /// # Errors
    /// [`Refusal::LargerThanBudget`] past the whole budget,
    /// [`Refusal::Busy`] when the budget is taken by other downloads.
    pub(super) fn grow(&self, reservation: &mut Reservation, bytes: u64) -> Result<(), Refusal> {
        if bytes <= reservation.bytes {
            return Ok(());
        }
        let wanted = self.units(bytes)?;
        let held = reservation.permit.as_ref().map_or(0, |p| p.num_permits());
        let more = (wanted as usize).saturating_sub(held);
        if more > 0 {
            let extra = Arc::clone(&self.inner.bytes)
                .try_acquire_many_owned(u32::try_from(more).unwrap_or(u32::MAX))
                .map_err(|_| Refusal::Busy)?;
            match &mut reservation.permit {
                Some(permit) => permit.merge(extra),
                None => reservation.permit = Some(extra),
            }
        }
        reservation.bytes = bytes;
        Ok(())
    }

    /// Bytes of the budget reserved now.
    pub(super) fn reserved_bytes(&self) -> u64 {
        let free = self.inner.bytes.available_permits() as u64;
        (u64::from(self.inner.budget_units) - free.min(u64::from(self.inner.budget_units))) * UNIT
    }

    /// The whole budget, in bytes.
    pub(super) fn budget_bytes(&self) -> u64 {
        u64::from(self.inner.budget_units) * UNIT
    }

    fn units(&self, bytes: u64) -> Result<u32, Refusal> {
        let units = bytes.div_ceil(UNIT).max(1);
        if units > u64::from(self.inner.budget_units) {
            return Err(Refusal::LargerThanBudget(self.budget_bytes()));
        }
        Ok(u32::try_from(units).unwrap_or(u32::MAX))
    }
}

/// A fetch's place in its network's quota, given back when dropped.
pub(super) struct NetworkPermit {
    permit: Option<OwnedSemaphorePermit>,
    semaphore: Option<Arc<Semaphore>>,
    key: Network,
    limits: Limits,
}

impl Drop for NetworkPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut networks = lock(&self.limits.inner.networks);
        drop(self.semaphore.take());
        // Only the map holds the semaphore: nobody runs or waits for this
        // network any more. A newcomer clones it under this same lock, so
        // the count cannot rise between the check and the removal.
        if networks
            .get(&self.key)
            .is_some_and(|semaphore| Arc::strong_count(semaphore) == 1)
        {
            networks.remove(&self.key);
        }
    }
}

/// Bytes of the budget held by one body; given back when dropped.
#[derive(Debug)]
pub(super) struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    bytes: u64,
}

impl Reservation {
    /// Nothing reserved yet, for a body that reserves as it grows.
    pub(super) fn empty() -> Reservation {
        Reservation {
            permit: None,
            bytes: 0,
        }
    }

    /// The bytes covered.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn one_network_waits_for_its_quota_and_others_do_not() {
        let limits = Limits::new(2, 1 << 20);
        let first = limits.network(ip("2001:db8:1:2::1")).await;
        let _second = limits.network(ip("2001:db8:1:2::99")).await;
        assert_eq!(limits.running_for(ip("2001:db8:1:2::5")), 2);
        // Another address of the same /64 has to wait...
        let waiting = tokio::spawn({
            let limits = limits.clone();
            async move { limits.network(ip("2001:db8:1:2::7")).await }
        });
        // ...while another network does not.
        let _other = limits.network(ip("2001:db8:1:3::1")).await;
        let _v4 = limits.network(ip("192.0.2.1")).await;
        assert!(!waiting.is_finished());
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("a place came free")
            .expect("the task");
        assert_eq!(limits.running_for(ip("2001:db8:1:2::1")), 2);
        drop(third);
        assert_eq!(limits.running_for(ip("2001:db8:1:2::1")), 1);
    }

    #[tokio::test]
    async fn networks_without_fetches_are_forgotten() {
        let limits = Limits::new(1, 1 << 20);
        for n in 0..100u8 {
            let _permit = limits.network(IpAddr::from([192, 0, 2, n])).await;
        }
        assert!(lock(&limits.inner.networks).is_empty());
        // A fetch cancelled while it waits for a place leaves nothing.
        let held = limits.network(ip("192.0.2.1")).await;
        let waiting = tokio::spawn({
            let limits = limits.clone();
            async move { limits.network(ip("192.0.2.1")).await }
        });
        tokio::task::yield_now().await;
        waiting.abort();
        let _ = waiting.await;
        drop(held);
        assert!(lock(&limits.inner.networks).is_empty());
    }

    #[tokio::test]
    async fn the_budget_is_reserved_whole_or_grown_without_waiting() {
        let limits = Limits::new(4, 1 << 20);
        let held = limits.reserve(800 << 10).await.expect("fits");
        assert_eq!(limits.reserved_bytes(), 800 << 10);
        let mut growing = Reservation::empty();
        limits.grow(&mut growing, 200 << 10).expect("fits beside");
        assert_eq!(
            limits.grow(&mut growing, 300 << 10).err(),
            Some(Refusal::Busy)
        );
        assert_eq!(
            growing.bytes(),
            200 << 10,
            "a refused step keeps what it had"
        );
        assert_eq!(
            limits.reserve(2 << 20).await.err(),
            Some(Refusal::LargerThanBudget(1 << 20))
        );
        drop(held);
        limits.grow(&mut growing, 900 << 10).expect("room again");
        drop(growing);
        assert_eq!(limits.reserved_bytes(), 0);
    }
}
