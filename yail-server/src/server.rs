//! The accept loop: connection limits, one task per session, shutdown.
//!
//! Two limits keep one client from locking the others out: at most
//! `max_per_ip` sessions per address (an IPv6 client counts by its /64,
//! which is what one household gets), and at most `max_connections` in
//! all. When the server is full, a newcomer closes the session that has
//! waited longest for its client to say anything, so a crowd of silent
//! connections cannot hold every slot; "server busy" is only the answer
//! when every session is in the middle of a request.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};
use yail_proto::Packet;
use yail_state::{ErrorKind, ServerState};

use crate::config::Config;
use crate::connection::{self, Activity, Connection, Timing};
use crate::files;
use crate::pipeline::Pipeline;
use crate::session::Session;
use crate::shared::Shared;
use crate::sources::camera::Camera;
use crate::sources::generate::Generator;
use crate::sync::lock;

/// The message a client gets when `max_connections` sessions are running
/// and none of them can be closed.
pub const BUSY_MESSAGE: &str = "server busy, try again later";

/// The message a client gets when its address already has `max_per_ip`
/// sessions.
pub const TOO_MANY_MESSAGE: &str = "too many connections from your address";

/// Serves YAIL clients on `listener` until `shutdown` completes, then stops
/// accepting, gives sessions `config.shutdown_grace` to finish the packet
/// they are sending, and returns.
///
/// The catalogue is filled from `config.paths` (or the built-in gallery
/// when there are none and `state` holds no files).
pub async fn run(listener: TcpListener, state: ServerState, config: Config, shutdown: impl Future) {
    load_catalogue(&state, &config).await;
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    if let Some(every) = config.rescan_interval.filter(|_| !config.paths.is_empty()) {
        tracker.spawn(rescan_periodically(
            state.clone(),
            config.clone(),
            every,
            token.clone(),
        ));
    }
    let grace = config.shutdown_grace;
    let sessions = Sessions::new(config.max_connections, config.max_per_ip);
    let pipeline = Pipeline::new(state.clone(), &config);
    let generator = Generator::new(&config, state.clone());
    let camera = config.camera.clone().map(|url| {
        Camera::spawn(
            url,
            config.camera_interval,
            state.clone(),
            token.clone(),
            &tracker,
        )
    });
    let shared = match Shared::new(config, state, pipeline, generator, camera) {
        Ok(shared) => Arc::new(shared),
        Err(e) => {
            error!(error = %e, "cannot set up downloads and search; not serving");
            token.cancel();
            tracker.close();
            tracker.wait().await;
            return;
        }
    };

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => admit(&shared, &sessions, &token, &tracker, stream, peer),
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    info!(sessions = shared.state.connections(), "shutting down");
    drop(listener);
    token.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!("sessions still busy after the grace period; leaving them");
    }
}

/// Starts a session for a new connection, or refuses it.
fn admit(
    shared: &Arc<Shared>,
    sessions: &Sessions,
    token: &CancellationToken,
    tracker: &TaskTracker,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    if let Err(e) = connection::enable_keepalive(&stream) {
        debug!(%peer, error = %e, "could not enable TCP keepalive");
    }
    let activity = Activity::new(stream);
    let stop = token.child_token();
    let ticket = match sessions.admit(peer.ip(), &activity, &stop) {
        Ok(ticket) => ticket,
        Err(refusal) => {
            shared.state.metrics().record_error(ErrorKind::Busy);
            warn!(%peer, reason = refusal.message(), "refusing a connection");
            if let Some(activity) = Arc::into_inner(activity) {
                tracker.spawn(refuse(activity.into_stream(), refusal.message()));
            }
            return;
        }
    };
    let guard = shared.state.connect(peer);
    let span = info_span!("session", id = guard.id(), %peer);
    let timing = Timing {
        idle_flush: shared.config.idle_flush,
        idle_timeout: shared.config.idle_timeout,
        command_timeout: shared.config.command_timeout,
    };
    let connection = Connection::new(shared.config.max_command_len, timing, activity);
    let session = Session::new(connection, guard, Arc::clone(shared), stop);
    tracker.spawn(
        async move {
            info!("connected");
            session.run().await;
            drop(ticket);
        }
        .instrument(span),
    );
}

async fn refuse(mut stream: TcpStream, message: &'static str) {
    let packet = Packet::error(yail_proto::GfxMode::Gr8, message).to_bytes();
    let write = async {
        stream.write_all(&packet).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
}

/// What limits connections from one client: its IPv4 address, or the /64
/// network of its IPv6 address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(network.into())
            }
        },
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Its address holds `max_per_ip` sessions.
    TooManyFromAddress,
    /// Every slot is taken by a session in the middle of a request.
    Busy,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::TooManyFromAddress => TOO_MANY_MESSAGE,
            Refusal::Busy => BUSY_MESSAGE,
        }
    }
}

/// The running sessions, by address, with what it takes to close one.
#[derive(Clone)]
struct Sessions {
    inner: Arc<Mutex<Registry>>,
}

struct Registry {
    max_total: usize,
    max_per_address: usize,
    next_id: u64,
    running: HashMap<u64, Running>,
    per_address: HashMap<IpAddr, usize>,
}

struct Running {
    address: IpAddr,
    activity: Arc<Activity>,
    stop: CancellationToken,
}

/// A session's place in [`Sessions`], given back when dropped.
struct Ticket {
    sessions: Sessions,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.sessions.lock().remove(self.id);
    }
}

impl Sessions {
    fn new(max_total: usize, max_per_address: usize) -> Sessions {
        Sessions {
            inner: Arc::new(Mutex::new(Registry {
                max_total: max_total.max(1),
                max_per_address: max_per_address.max(1),
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
    /// (see [`Activity::evict_if_idle`]): the next longest-idle is tried.
    fn admit(
        &self,
        ip: IpAddr,
        activity: &Arc<Activity>,
        stop: &CancellationToken,
    ) -> Result<Ticket, Refusal> {
        let address = address_key(ip);
        let mut registry = self.lock();
        if registry.per_address.get(&address).copied().unwrap_or(0) >= registry.max_per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        if registry.running.len() >= registry.max_total {
            let mut idle: Vec<(Duration, u64)> = registry
                .running
                .iter()
                .filter_map(|(id, r)| r.activity.idle_for().map(|idle| (idle, *id)))
                .collect();
            idle.sort_unstable_by(|a, b| b.cmp(a));
            let victim = idle.into_iter().find(|(_, id)| {
                registry
                    .running
                    .get(id)
                    .is_some_and(|r| r.activity.evict_if_idle())
            });
            let Some((idle, victim)) = victim else {
                return Err(Refusal::Busy);
            };
            if let Some(closed) = registry.remove(victim) {
                info!(address = %closed.address, ?idle, "server full: closing the longest-idle session");
                closed.stop.cancel();
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        *registry.per_address.entry(address).or_default() += 1;
        registry.running.insert(
            id,
            Running {
                address,
                activity: Arc::clone(activity),
                stop: stop.clone(),
            },
        );
        Ok(Ticket {
            sessions: self.clone(),
            id,
        })
    }
}

impl Registry {
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

async fn load_catalogue(state: &ServerState, config: &Config) {
    if config.paths.is_empty() {
        if state.file_count() == 0 {
            state.replace_files(files::gallery_catalogue());
            info!(
                pictures = state.file_count(),
                "no --paths given: serving the built-in gallery"
            );
        }
        return;
    }
    scan_into(state, config).await;
}

/// Rescans `config.paths` every `every` until `stop` is cancelled. Sessions
/// keep drawing from the old catalogue until the new one replaces it whole.
async fn rescan_periodically(
    state: ServerState,
    config: Config,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => scan_into(&state, &config).await,
        }
    }
}

async fn scan_into(state: &ServerState, config: &Config) {
    // Folders set on the admin page win over --paths until a restart, so a
    // periodic rescan must not put the old folders back.
    let runtime = state.runtime_settings();
    let paths = if runtime.picture_paths.is_empty() {
        config.paths.clone()
    } else {
        runtime.picture_paths.clone()
    };
    let extensions = config.extensions.clone();
    let scanned = tokio::task::spawn_blocking(move || files::scan(&paths, &extensions)).await;
    match scanned {
        Ok((catalogue, problems)) => {
            for problem in problems {
                warn!(%problem, "skipped while scanning");
            }
            if catalogue.len() != state.file_count() {
                info!(pictures = catalogue.len(), "scanned picture folders");
            }
            state.replace_files(catalogue);
        }
        Err(e) => error!(error = %e, "scanning picture folders failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_counts_by_its_network() {
        assert_eq!(address_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(address_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
    }

    /// One admitted test session: the client's end of its socket, and what
    /// the accept loop holds of the server's end.
    struct Admitted {
        _ticket: Ticket,
        client: TcpStream,
        activity: Arc<Activity>,
        stop: CancellationToken,
    }

    /// A loopback connection, admitted as if from `address`.
    async fn admit(sessions: &Sessions, address: &str) -> Result<Admitted, Refusal> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let (activity, stop) = (Activity::new(server_side), CancellationToken::new());
        let ticket = sessions.admit(ip(address), &activity, &stop)?;
        Ok(Admitted {
            _ticket: ticket,
            client,
            activity,
            stop,
        })
    }

    /// Waits until the client's bytes have reached the server's socket.
    async fn arrived(admitted: &Admitted) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !admitted.activity.has_unread_bytes() {
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
        let sessions = Sessions::new(10, 2);
        let first = admit(&sessions, "127.0.0.1").await.unwrap();
        let _second = admit(&sessions, "127.0.0.1").await.unwrap();
        assert_eq!(
            admit(&sessions, "127.0.0.1").await.err(),
            Some(Refusal::TooManyFromAddress)
        );
        assert!(
            admit(&sessions, "127.0.0.2").await.is_ok(),
            "another address"
        );
        drop(first);
        assert!(
            admit(&sessions, "127.0.0.1").await.is_ok(),
            "a place came free"
        );
    }

    #[tokio::test]
    async fn a_full_server_closes_its_longest_idle_session() {
        let sessions = Sessions::new(3, 8);
        let oldest = admit(&sessions, "127.0.0.1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut second = admit(&sessions, "127.0.0.2").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let young = admit(&sessions, "127.0.0.3").await.unwrap();
        // The first has waited longest... but is answering a request now.
        oldest.activity.set_awaiting_command(false);
        let newcomer = admit(&sessions, "127.0.0.4").await.unwrap();
        assert!(second.stop.is_cancelled(), "the longest-idle one goes");
        assert!(!oldest.stop.is_cancelled() && !young.stop.is_cancelled());
        assert!(
            sees_end_of_stream(&mut second.client).await,
            "its client is told at once"
        );
        drop(second); // its session ending gives nothing back twice
        assert_eq!(sessions.lock().running.len(), 3);

        for admitted in [&oldest, &young, &newcomer] {
            admitted.activity.set_awaiting_command(false);
        }
        assert_eq!(
            admit(&sessions, "127.0.0.5").await.err(),
            Some(Refusal::Busy)
        );
        assert_eq!(sessions.lock().running.len(), 3);
        assert_eq!(sessions.lock().per_address.len(), 3);
    }

    /// Found by the chaos run: a client's `next` had reached the server's
    /// socket, but the session's task had not read it yet, so the session
    /// still looked idle and was closed: a command cut without an answer.
    #[tokio::test]
    async fn eviction_spares_a_session_whose_command_is_unread() {
        use tokio::io::AsyncWriteExt;
        let sessions = Sessions::new(2, 8);
        let mut asking = admit(&sessions, "127.0.0.1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let idle = admit(&sessions, "127.0.0.2").await.unwrap();
        asking.client.write_all(b"next").await.unwrap();
        arrived(&asking).await;

        let _newcomer = admit(&sessions, "127.0.0.3").await.unwrap();
        assert!(
            !asking.stop.is_cancelled(),
            "the session with a command stays"
        );
        assert!(idle.stop.is_cancelled(), "the idle one makes room");
        assert!(
            asking.activity.has_unread_bytes(),
            "its command is still there"
        );
    }

    /// The same for a command already read in part (or a bare word waiting
    /// for the pause that ends it): the session's buffer holds it.
    #[tokio::test]
    async fn eviction_spares_a_session_holding_part_of_a_command() {
        use tokio::io::AsyncWriteExt;
        let sessions = Sessions::new(2, 8);
        let mut asking = admit(&sessions, "127.0.0.1").await.unwrap();
        let timing = Timing {
            idle_flush: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(60),
        };
        let mut connection = Connection::new(1024, timing, Arc::clone(&asking.activity));
        let stop = asking.stop.clone();
        let reader =
            tokio::spawn(async move { connection.read_command(&stop).await.map(|c| c.is_some()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let idle = admit(&sessions, "127.0.0.2").await.unwrap();
        asking
            .client
            .write_all(b"search \"half a comm")
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while asking.activity.has_unread_bytes() || asking.activity.idle_for().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "never read");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }

        let _newcomer = admit(&sessions, "127.0.0.3").await.unwrap();
        assert!(
            !asking.stop.is_cancelled(),
            "the session with half a command stays"
        );
        assert!(idle.stop.is_cancelled(), "the idle one makes room");
        asking.client.write_all(b"and\"\n").await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(10), reader).await;
        assert!(
            matches!(read, Ok(Ok(Ok(true)))),
            "the command arrives whole: {read:?}"
        );
    }
}
