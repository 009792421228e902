//! The accept loop: connection limit, one task per session, shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, error, info, info_span, warn};
use yail_proto::Packet;
use yail_state::{ErrorKind, ServerState};

use crate::connection::{Connection, Timing};
use crate::pipeline::Pipeline;
use crate::session::Session;
use crate::sources::camera::Camera;
use crate::sources::generate::Generator;
use crate::{Config, Shared, files};

/// The message a client gets when `max_connections` sessions are running.
pub const BUSY_MESSAGE: &str = "server busy, try again later";

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
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let pipeline = Pipeline::new(state.clone(), config.workers, config.cache_bytes);
    let generator = Generator::new(&config);
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
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    match Arc::clone(&limit).try_acquire_owned() {
                        Ok(permit) => {
                            let guard = shared.state.connect(peer);
                            let span = info_span!("session", id = guard.id(), %peer);
                            let connection = Connection::new(stream, shared.config.max_command_len, Timing {
                                idle_flush: shared.config.idle_flush,
                                idle_timeout: shared.config.idle_timeout,
                            });
                            let session = Session::new(connection, guard, Arc::clone(&shared), token.child_token());
                            tracker.spawn(async move {
                                info!("connected");
                                session.run().await;
                                drop(permit);
                            }.instrument(span));
                        }
                        Err(_) => {
                            shared.state.metrics().record_error(ErrorKind::Busy);
                            warn!(%peer, "refusing a connection: server busy");
                            tracker.spawn(refuse_busy(stream));
                        }
                    }
                }
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

async fn refuse_busy(mut stream: TcpStream) {
    let packet = Packet::error(u8::from(yail_proto::GfxMode::Gr8), BUSY_MESSAGE).to_bytes();
    let write = async {
        stream.write_all(&packet).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
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
    let (paths, extensions) = (config.paths.clone(), config.extensions.clone());
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
