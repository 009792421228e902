//! The accept loop: each connection is admitted or refused
//! ([`admission`](crate::admission)), gets a task of its own, and is told
//! to stop when the server does.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};
use yail_state::ErrorKind;

use crate::admission::Admission;
use crate::connection::{self, Connection, Liveness, Timing};
use crate::refusal::Refusals;
use crate::services::Services;
use crate::session::Session;

/// Serves YAIL clients on `listener` with `services` until `shutdown`
/// completes, then stops accepting, gives sessions `shutdown_grace` to
/// finish the packet they are sending, and returns.
pub async fn run(listener: TcpListener, services: Services, shutdown: impl Future) {
    let config = services.config();
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let admission = Admission::new(config.max_connections, config.max_per_ip, config.slow_fetch);
    let refusals = Refusals::new(config.idle_flush, &config.random_modes);
    let grace = config.shutdown_grace;

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let gate = Gate { services: &services, admission: &admission, refusals: &refusals, token: &token, tracker: &tracker };
                    admit(&gate, stream, peer);
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    info!(sessions = services.state().connections(), "shutting down");
    drop(listener);
    token.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!("sessions still busy after the grace period; leaving them");
    }
}

/// What the accept loop decides a new connection's fate with.
struct Gate<'a> {
    services: &'a Services,
    admission: &'a Admission,
    refusals: &'a Refusals,
    token: &'a CancellationToken,
    tracker: &'a TaskTracker,
}

/// Starts a session for a new connection, or refuses it.
fn admit(gate: &Gate<'_>, stream: TcpStream, peer: SocketAddr) {
    let Gate {
        services,
        admission,
        refusals,
        token,
        tracker,
    } = *gate;
    let _ = stream.set_nodelay(true);
    if let Err(e) = connection::enable_keepalive(&stream) {
        debug!(%peer, error = %e, "could not enable TCP keepalive");
    }
    let liveness = Liveness::new(stream);
    let stop = token.child_token();
    let ticket = match admission.admit(peer.ip(), &liveness, &stop) {
        Ok(ticket) => ticket,
        Err(refusal) => {
            services.state().metrics().record_error(ErrorKind::Busy);
            if let Some(liveness) = Arc::into_inner(liveness) {
                refusals.refuse(
                    liveness.into_stream(),
                    peer,
                    refusal.message(),
                    tracker,
                    stop,
                );
            }
            return;
        }
    };
    let guard = services.state().connect(peer);
    let span = info_span!("session", id = guard.id(), %peer);
    let config = services.config();
    let timing = Timing {
        idle_flush: config.idle_flush,
        idle_timeout: config.idle_timeout,
        command_timeout: config.command_timeout,
    };
    let connection = Connection::new(config.max_command_len, timing, liveness);
    let session = Session::new(connection, guard, services.clone(), stop);
    tracker.spawn(
        async move {
            info!("connected");
            session.run().await;
            drop(ticket);
        }
        .instrument(span),
    );
}
