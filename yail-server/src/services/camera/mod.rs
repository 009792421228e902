//! The camera behind `video`: one capture task reads the camera (an HTTP
//! snapshot URL, or an MJPEG stream) and publishes the newest frame through
//! the shared state; sessions convert what they find there.
//!
//! The camera is read only while someone watches (a session asked for a
//! frame in the last [`WATCH_WINDOW`]), and after a failure it is tried
//! again with a growing pause, up to [`MAX_BACKOFF`]. The camera URL comes
//! from the operator, not from a client, so a camera on the LAN (the usual
//! place for one) is reached without the client-URL address policy.

mod mjpeg;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use yail_state::ServerState;

use crate::fetch::{FetchConfig, Fetcher};
use crate::sync::lock;
use mjpeg::{MjpegParser, boundary};

/// Largest frame accepted from the camera.
const MAX_FRAME_BYTES: usize = 8 << 20;
/// A camera that sends nothing for this long is taken as gone.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Capture goes on this long after the last request for a frame.
pub(crate) const WATCH_WINDOW: Duration = Duration::from_secs(30);
/// First pause after a failure; doubled at each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the capture task last found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CameraStatus {
    /// No attempt finished yet.
    Starting,
    /// The last attempt gave a frame.
    Live,
    /// The last attempt failed, for this reason.
    Unreachable(String),
}

struct Inner {
    /// Until when someone watches.
    watched_until: Mutex<Option<Instant>>,
    status: Mutex<CameraStatus>,
    wake: Notify,
}

/// A handle on the capture task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Camera {
    inner: Arc<Inner>,
}

impl Camera {
    /// Starts capturing from `url` (when watched) until `shutdown`.
    /// `interval` is the pause between two snapshots of a snapshot camera.
    pub(crate) fn spawn(
        url: String,
        interval: Duration,
        state: ServerState,
        shutdown: CancellationToken,
    ) -> Camera {
        let camera = Camera {
            inner: Arc::new(Inner {
                watched_until: Mutex::new(None),
                status: Mutex::new(CameraStatus::Starting),
                wake: Notify::new(),
            }),
        };
        let task = camera.clone();
        tokio::spawn(async move { task.capture(url, interval, state, shutdown).await });
        camera
    }

    /// A session wants frames: keep (or start) capturing.
    pub(crate) fn watch(&self) {
        *lock(&self.inner.watched_until) = Some(Instant::now() + WATCH_WINDOW);
        self.inner.wake.notify_one();
    }

    /// What the capture task last found.
    pub(crate) fn status(&self) -> CameraStatus {
        lock(&self.inner.status).clone()
    }

    fn watched(&self) -> bool {
        lock(&self.inner.watched_until).is_some_and(|until| Instant::now() < until)
    }

    fn set_status(&self, status: CameraStatus) {
        *lock(&self.inner.status) = status;
    }

    async fn capture(
        self,
        url: String,
        interval: Duration,
        state: ServerState,
        shutdown: CancellationToken,
    ) {
        // The camera is the operator's, usually on the LAN, so private
        // addresses are allowed; timeouts, redirects and schemes are checked
        // as for every other download.
        let fetcher = match Fetcher::new(FetchConfig {
            allow_private: true,
            ..FetchConfig::default()
        }) {
            Ok(fetcher) => fetcher,
            Err(e) => {
                warn!(error = %e, "cannot set up the camera's HTTP client");
                self.set_status(CameraStatus::Unreachable(e.to_string()));
                return;
            }
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            while !self.watched() {
                let wake = self.inner.wake.notified();
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = wake => {}
                    // The watch window may lapse without a notification.
                    () = tokio::time::sleep(WATCH_WINDOW) => {}
                }
            }
            let attempt = tokio::select! {
                () = shutdown.cancelled() => return,
                attempt = self.read_camera(&fetcher, &url, &state) => attempt,
            };
            let pause = match attempt {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    interval
                }
                Err(reason) => {
                    if self.status() != CameraStatus::Unreachable(reason.clone()) {
                        warn!(reason, "camera unreachable");
                    }
                    self.set_status(CameraStatus::Unreachable(reason));
                    let pause = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    pause
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One snapshot, or an MJPEG stream until it ends, fails or nobody
    /// watches any more.
    async fn read_camera(
        &self,
        fetcher: &Fetcher,
        url: &str,
        state: &ServerState,
    ) -> Result<(), String> {
        let response = tokio::time::timeout(STALL_TIMEOUT, fetcher.open(url))
            .await
            .map_err(|_| String::from("no answer"))?
            .map_err(|e| e.to_string())?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            let boundary = boundary(&content_type).ok_or("the stream names no boundary")?;
            self.read_stream(response, &boundary, state).await
        } else {
            let body = tokio::time::timeout(
                STALL_TIMEOUT,
                crate::fetch::read_limited(response, MAX_FRAME_BYTES as u64),
            )
            .await
            .map_err(|_| String::from("the snapshot did not arrive"))?
            .map_err(|e| e.to_string())?;
            if body.is_empty() {
                return Err(String::from("empty snapshot"));
            }
            self.publish(state, body.to_vec());
            Ok(())
        }
    }

    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        boundary: &str,
        state: &ServerState,
    ) -> Result<(), String> {
        let mut parser = MjpegParser::new(boundary, MAX_FRAME_BYTES);
        info!("camera stream open");
        loop {
            let chunk =
                tokio::time::timeout(STALL_TIMEOUT, crate::fetch::next_chunk(&mut response))
                    .await
                    .map_err(|_| String::from("the stream stalled"))?
                    .map_err(|e| e.to_string())?;
            let Some(chunk) = chunk else {
                return Err(String::from("the stream ended"));
            };
            let frames = parser.push(&chunk).map_err(|e| e.to_string())?;
            if let Some(newest) = frames.into_iter().next_back() {
                self.publish(state, newest);
                if !self.watched() {
                    debug!("nobody watches; closing the camera stream");
                    return Ok(());
                }
            }
        }
    }

    fn publish(&self, state: &ServerState, frame: Vec<u8>) {
        state.frames().publish(frame);
        self.set_status(CameraStatus::Live);
    }
}
