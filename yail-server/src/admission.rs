//! Who may connect: at most `max_per_ip` sessions per address (an IPv6
//! client counts by its /64, which is what one household gets), and at
//! most `max_connections` in all. When the server is full, a newcomer
//! closes the session that has waited longest for its client to say
//! anything, so a crowd of silent connections cannot hold every slot;
//! "server busy" is only the answer when every session is in the middle of
//! a request. A request that has waited on a download for longer than
//! `--slow-fetch-secs` does not count as one: such a session is closed
//! next, so trickling hosts cannot keep a full server's slots.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::connection::Liveness;
use crate::network::Network;
use crate::sync::lock;

/// The message a client gets when `max_connections` sessions are running
/// and none of them can be closed.
pub const BUSY_MESSAGE: &str = "server busy, try again later";

/// The message a client gets when its address already has `max_per_ip`
/// sessions.
pub const TOO_MANY_MESSAGE: &str = "too many connections from your address";

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds `max_per_ip` sessions.
    TooManyFromAddress,
    /// Every slot is taken by a session in the middle of a request.
    Busy,
}

impl Refusal {
    /// What the client is told.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::TooManyFromAddress => TOO_MANY_MESSAGE,
            Refusal::Busy => BUSY_MESSAGE,
        }
    }
}

/// The running sessions, by address, with what it takes to close one.
#[derive(Clone)]
pub(crate) struct Admission {
    inner: Arc<Mutex<Registry>>,
}

struct Registry {
    max_total: usize,
    max_per_address: usize,
    /// A request waiting on a download this long may be closed; `None`:
    /// never.
    slow_download: Option<Duration>,
    next_id: u64,
    running: HashMap<u64, Running>,
    per_address: HashMap<Network, usize>,
}

struct Running {
    address: Network,
    liveness: Arc<Liveness>,
    stop: CancellationToken,
}

/// A session's place in [`Admission`], given back when dropped.
pub(crate) struct Ticket {
    admission: Admission,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.lock().remove(self.id);
    }
}

impl Admission {
    /// Room for `max_total` sessions, `max_per_address` from one address;
    /// when full, a session whose request has waited on a download for
    /// `slow_download` may be closed if no idle one can.
    pub(crate) fn new(
        max_total: usize,
        max_per_address: usize,
        slow_download: Option<Duration>,
    ) -> Admission {
        Admission {
            inner: Arc::new(Mutex::new(Registry {
                max_total: max_total.max(1),
                max_per_address: max_per_address.max(1),
                slow_download,
                next_id: 0,
                running: HashMap::new(),
                per_address: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        lock(&self.inner)
    }

    /// A place for a session from `ip`. When the server is full, the
    /// longest-idle session is closed (its socket shut, its `stop` token
    /// cancelled); a session with a command in flight is never the one
    /// (see [`Liveness::evict_if_idle`]): the next longest-idle is tried.
    /// When none is idle, the session whose request has waited longest on
    /// a download, past the bound, is closed instead
    /// ([`Liveness::evict_if_downloading`]).
    pub(crate) fn admit(
        &self,
        ip: IpAddr,
        liveness: &Arc<Liveness>,
        stop: &CancellationToken,
    ) -> Result<Ticket, Refusal> {
        let address = Network::of(ip);
        let mut registry = self.lock();
        if registry.per_address.get(&address).copied().unwrap_or(0) >= registry.max_per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        if registry.running.len() >= registry.max_total {
            let mut idle: Vec<(Duration, u64)> = registry
                .running
                .iter()
                .filter_map(|(id, r)| r.liveness.idle_for().map(|idle| (idle, *id)))
                .collect();
            idle.sort_unstable_by(|a, b| b.cmp(a));
            let victim = idle.into_iter().find(|(_, id)| {
                registry
                    .running
                    .get(id)
                    .is_some_and(|r| r.liveness.evict_if_idle())
            });
            if let Some((idle, victim)) = victim {
                if let Some(closed) = registry.remove(victim) {
                    info!(address = %closed.address, ?idle, "server full: closing the longest-idle session");
                    closed.stop.cancel();
                }
            } else {
                let (waited, victim) = registry.slow_download_victim().ok_or(Refusal::Busy)?;
                if let Some(closed) = registry.remove(victim) {
                    info!(address = %closed.address, ?waited, "server full: closing a session waiting on a slow download");
                    closed.stop.cancel();
                }
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        *registry.per_address.entry(address).or_default() += 1;
        registry.running.insert(
            id,
            Running {
                address,
                liveness: Arc::clone(liveness),
                stop: stop.clone(),
            },
        );
        Ok(Ticket {
            admission: self.clone(),
            id,
        })
    }
}

impl Registry {
    /// The session whose request has waited longest on a download, past
    /// the bound, now marked closed; `None` if there is none.
    fn slow_download_victim(&self) -> Option<(Duration, u64)> {
        let bound = self.slow_download?;
        let mut waiting: Vec<(Duration, u64)> = self
            .running
            .iter()
            .filter_map(|(id, r)| r.liveness.download_wait().map(|waited| (waited, *id)))
            .filter(|(waited, _)| *waited >= bound)
            .collect();
        waiting.sort_unstable_by(|a, b| b.cmp(a));
        waiting.into_iter().find(|(_, id)| {
            self.running
                .get(id)
                .is_some_and(|r| r.liveness.evict_if_downloading(bound))
        })
    }

    fn remove(&mut self, id: u64) -> Option<Running> {
        let running = self.running.remove(&id)?;
        if let Some(count) = self.per_address.get_mut(&running.address) {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&running.address);
            }
        }
        Some(running)
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::connection::{Connection, Timing};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// One admitted test session: the client's end of its socket, and what
    /// the accept loop holds of the server's end.
    struct Admitted {
        _ticket: Ticket,
        client: TcpStream,
        liveness: Arc<Liveness>,
        stop: CancellationToken,
    }

    /// A loopback connection, admitted as if from `address`.
    async fn admit(admission: &Admission, address: &str) -> Result<Admitted, Refusal> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let (liveness, stop) = (Liveness::new(server_side), CancellationToken::new());
        let ticket = admission.admit(ip(address), &liveness, &stop)?;
        Ok(Admitted {
            _ticket: ticket,
            client,
            liveness,
            stop,
        })
    }

    /// Waits until the client's bytes have reached the server's socket.
    async fn arrived(admitted: &Admitted) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !admitted.liveness.has_unread_bytes() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "bytes never arrived"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Whether the client sees the end of the stream, within 10 s.
    async fn sees_end_of_stream(client: &mut TcpStream) -> bool {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut byte));
        matches!(read.await, Ok(Ok(0)))
    }

    #[tokio::test]
    async fn one_address_cannot_take_more_than_its_share() {
        let admission = Admission::new(10, 2, None);
        let first = admit(&admission, "127.0.0.1").await.unwrap();
        let _second = admit(&admission, "127.0.0.1").await.unwrap();
        assert_eq!(
            admit(&admission, "127.0.0.1").await.err(),
            Some(Refusal::TooManyFromAddress)
        );
        assert!(
            admit(&admission, "127.0.0.2").await.is_ok(),
            "another address"
        );
        drop(first);
        assert!(
            admit(&admission, "127.0.0.1").await.is_ok(),
            "a place came free"
        );
    }

    #[tokio::test]
    async fn a_full_server_closes_its_longest_idle_session() {
        let admission = Admission::new(3, 8, None);
        let oldest = admit(&admission, "127.0.0.1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut second = admit(&admission, "127.0.0.2").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let young = admit(&admission, "127.0.0.3").await.unwrap();
        // The first has waited longest... but is answering a request now.
        oldest.liveness.set_awaiting_command(false);
        let newcomer = admit(&admission, "127.0.0.4").await.unwrap();
        assert!(second.stop.is_cancelled(), "the longest-idle one goes");
        assert!(!oldest.stop.is_cancelled() && !young.stop.is_cancelled());
        assert!(
            sees_end_of_stream(&mut second.client).await,
            "its client is told at once"
        );
        drop(second); // its session ending gives nothing back twice
        assert_eq!(admission.lock().running.len(), 3);

        for admitted in [&oldest, &young, &newcomer] {
            admitted.liveness.set_awaiting_command(false);
        }
        assert_eq!(
            admit(&admission, "127.0.0.5").await.err(),
            Some(Refusal::Busy)
        );
        assert_eq!(admission.lock().running.len(), 3);
        assert_eq!(admission.lock().per_address.len(), 3);
    }

    /// A request that waits on a download, as the session marks it.
    async fn downloading(admitted: &Admitted) -> crate::download_clock::Mark {
        admitted.liveness.set_awaiting_command(false);
        let clock = Arc::clone(admitted.liveness.downloads());
        crate::download_clock::scope(clock, async { crate::download_clock::mark() })
            .await
            .expect("inside the request's scope")
    }

    /// Found by the security review: a session waiting on a download had a
    /// command in flight and was never closed, so sixteen sessions asking
    /// for a trickling URL kept a 16-slot server "busy" for a minute.
    #[tokio::test]
    async fn a_full_server_closes_a_session_waiting_past_the_bound_on_a_download() {
        let admission = Admission::new(2, 8, Some(Duration::ZERO));
        let fetching = admit(&admission, "127.0.0.1").await.unwrap();
        let converting = admit(&admission, "127.0.0.2").await.unwrap();
        let _download = downloading(&fetching).await;
        converting.liveness.set_awaiting_command(false);

        let _newcomer = admit(&admission, "127.0.0.3").await.unwrap();
        assert!(fetching.stop.is_cancelled(), "the download's session goes");
        assert!(!converting.stop.is_cancelled(), "a conversion is spared");
        assert!(fetching.liveness.download_wait().is_none(), "closed");

        for bound in [Some(Duration::from_secs(3600)), None] {
            let admission = Admission::new(1, 8, bound);
            let fetching = admit(&admission, "127.0.0.1").await.unwrap();
            let _download = downloading(&fetching).await;
            assert_eq!(
                admit(&admission, "127.0.0.2").await.err(),
                Some(Refusal::Busy),
                "{bound:?}"
            );
            assert!(!fetching.stop.is_cancelled());
        }
    }

    /// An idle session still goes before one that waits on a download.
    #[tokio::test]
    async fn an_idle_session_goes_before_a_download() {
        let admission = Admission::new(2, 8, Some(Duration::ZERO));
        let fetching = admit(&admission, "127.0.0.1").await.unwrap();
        let idle = admit(&admission, "127.0.0.2").await.unwrap();
        let _download = downloading(&fetching).await;
        let _newcomer = admit(&admission, "127.0.0.3").await.unwrap();
        assert!(idle.stop.is_cancelled() && !fetching.stop.is_cancelled());
    }

    /// Found by the chaos run: a client's `next` had reached the server's
    /// socket, but the session's task had not read it yet, so the session
    /// still looked idle and was closed: a command cut without an answer.
    #[tokio::test]
    async fn eviction_spares_a_session_whose_command_is_unread() {
        use tokio::io::AsyncWriteExt;
        let admission = Admission::new(2, 8, None);
        let mut asking = admit(&admission, "127.0.0.1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let idle = admit(&admission, "127.0.0.2").await.unwrap();
        asking.client.write_all(b"next").await.unwrap();
        arrived(&asking).await;

        let _newcomer = admit(&admission, "127.0.0.3").await.unwrap();
        assert!(
            !asking.stop.is_cancelled(),
            "the session with a command stays"
        );
        assert!(idle.stop.is_cancelled(), "the idle one makes room");
        assert!(
            asking.liveness.has_unread_bytes(),
            "its command is still there"
        );
    }

    /// The same for a command already read in part (or a bare word waiting
    /// for the pause that ends it): the session's buffer holds it.
    #[tokio::test]
    async fn eviction_spares_a_session_holding_part_of_a_command() {
        use tokio::io::AsyncWriteExt;
        let admission = Admission::new(2, 8, None);
        let mut asking = admit(&admission, "127.0.0.1").await.unwrap();
        let timing = Timing {
            idle_flush: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(60),
        };
        let mut connection = Connection::new(1024, timing, Arc::clone(&asking.liveness));
        let stop = asking.stop.clone();
        let reader = tokio::spawn(async move { connection.read_command(&stop).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let idle = admit(&admission, "127.0.0.2").await.unwrap();
        asking
            .client
            .write_all(b"search \"half a comm")
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while asking.liveness.has_unread_bytes() || asking.liveness.idle_for().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "never read");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }

        let _newcomer = admit(&admission, "127.0.0.3").await.unwrap();
        assert!(
            !asking.stop.is_cancelled(),
            "the session with half a command stays"
        );
        assert!(idle.stop.is_cancelled(), "the idle one makes room");
        asking.client.write_all(b"and\"\n").await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(10), reader).await;
        assert!(
            matches!(read, Ok(Ok(true))),
            "the command arrives whole: {read:?}"
        );
    }
}
