//! The camera behind `video`: one capture task reads the camera (an HTTP
//! snapshot URL, or an MJPEG stream) and publishes the newest frame, or why
//! it has none, through a `tokio::sync::watch` channel; a session asking
//! for a frame waits on that channel for one it has not had yet.
//!
//! The camera is read only while someone watches (a session asked for a
//! frame in the last [`WATCH_WINDOW`]), and after a failure it is tried
//! again with a growing pause, up to [`MAX_BACKOFF`]. The camera URL comes
//! from the operator, not from a client, so a camera on the LAN (the usual
//! place for one) is reached without the client-URL address policy, and
//! with `--camera-insecure-tls` a camera's self-signed certificate is
//! accepted. A user name and password in the URL are answered in Digest or
//! Basic, as the camera asks ([`auth`]).

mod auth;
mod mjpeg;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use url::Url;

use crate::fetch::{self, FetchConfig, FetchError, Fetcher};
use crate::sync::lock;
use auth::Credentials;
use mjpeg::{MjpegError, MjpegParser, boundary};

/// Largest frame accepted from the camera.
const MAX_FRAME_BYTES: usize = 8 << 20;
/// A camera that sends nothing for this long is taken as gone.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Capture goes on this long after the last request for a frame.
const WATCH_WINDOW: Duration = Duration::from_secs(30);
/// First pause after a failure; doubled at each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why the camera gives no frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CameraError {
    /// The camera did not answer the request.
    #[error("no answer")]
    NoAnswer,
    /// The camera could not be reached, or answered an error.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A multipart answer that names no boundary.
    #[error("the stream names no boundary")]
    NoBoundary,
    /// A snapshot that did not arrive in time.
    #[error("the snapshot did not arrive")]
    SnapshotLate,
    /// A snapshot without a byte.
    #[error("empty snapshot")]
    EmptySnapshot,
    /// A stream that sent nothing for a while.
    #[error("the stream stalled")]
    Stalled,
    /// A stream that ended.
    #[error("the stream ended")]
    Ended,
    /// A stream that cannot be split into pictures.
    #[error(transparent)]
    Stream(#[from] MjpegError),
    /// No frame has arrived yet.
    #[error("no picture yet")]
    NoPictureYet,
    /// The camera wants a user name and password and the URL has none.
    #[error("the camera asks for a user name and password (put them in the --camera URL)")]
    NeedsCredentials,
    /// The camera refused the user name and password of the URL.
    #[error("the camera refused the user name and password ({0})")]
    CredentialsRefused(&'static str),
}

/// One frame of the camera.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Increases by one with every frame, starting at 1.
    pub(crate) seq: u64,
    /// The picture as the camera sent it (a JPEG, usually).
    pub(crate) data: Arc<[u8]>,
}

/// What the capture task last found.
#[derive(Debug, Clone, Default)]
struct Latest {
    /// The newest frame, if any came yet.
    frame: Option<Frame>,
    /// Why the last attempt failed; cleared by the next frame.
    failure: Option<CameraError>,
}

struct Inner {
    /// Until when someone watches.
    watched_until: Mutex<Option<Instant>>,
    wake: Notify,
    latest: watch::Sender<Latest>,
}

/// A handle on the capture task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Camera {
    inner: Arc<Inner>,
}

impl Camera {
    /// Starts capturing from `url` (when watched) until `stop`.
    /// `interval` is the pause between two snapshots of a snapshot camera;
    /// `insecure_tls` accepts the camera's certificate unchecked.
    pub(crate) fn spawn(
        url: String,
        interval: Duration,
        insecure_tls: bool,
        stop: CancellationToken,
    ) -> Camera {
        let camera = Camera {
            inner: Arc::new(Inner {
                watched_until: Mutex::new(None),
                wake: Notify::new(),
                latest: watch::Sender::new(Latest::default()),
            }),
        };
        let task = camera.clone();
        tokio::spawn(async move { task.capture(url, interval, insecure_tls, stop).await });
        camera
    }

    /// The newest frame after frame `seen` (0: any), waiting up to `wait`
    /// for one; when none comes in time, the newest one again. Asking keeps
    /// (or starts) the capture.
    pub(crate) async fn next_frame(&self, seen: u64, wait: Duration) -> Result<Frame, CameraError> {
        self.watch();
        let mut latest = self.inner.latest.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            {
                let now = latest.borrow_and_update();
                if let Some(failure) = &now.failure {
                    return Err(failure.clone());
                }
                if let Some(frame) = now.frame.as_ref().filter(|f| f.seq > seen) {
                    return Ok(frame.clone());
                }
            }
            // Time up, or the capture task gone: the newest frame will do.
            if !matches!(
                tokio::time::timeout_at(deadline, latest.changed()).await,
                Ok(Ok(()))
            ) {
                break;
            }
        }
        let newest = latest.borrow().frame.clone();
        newest.ok_or(CameraError::NoPictureYet)
    }

    /// A session wants frames: keep (or start) capturing.
    fn watch(&self) {
        *lock(&self.inner.watched_until) = Some(Instant::now() + WATCH_WINDOW);
        self.inner.wake.notify_one();
    }

    fn watched(&self) -> bool {
        lock(&self.inner.watched_until).is_some_and(|until| Instant::now() < until)
    }

    fn publish(&self, data: Arc<[u8]>) {
        self.inner.latest.send_modify(|latest| {
            let seq = latest.frame.as_ref().map_or(0, |f| f.seq) + 1;
            latest.frame = Some(Frame { seq, data });
            latest.failure = None;
        });
    }

    fn fail(&self, error: CameraError) {
        self.inner.latest.send_if_modified(|latest| {
            if latest.failure.as_ref() == Some(&error) {
                return false;
            }
            warn!(reason = %error, "camera unreachable");
            latest.failure = Some(error);
            true
        });
    }

    async fn capture(
        self,
        url: String,
        interval: Duration,
        insecure_tls: bool,
        stop: CancellationToken,
    ) {
        let mut url = match Url::parse(&url) {
            Ok(url) => url,
            Err(e) => {
                self.fail(FetchError::BadUrl(e.to_string()).into());
                return;
            }
        };
        let mut credentials = Credentials::take_from(&mut url);
        // The camera is the operator's, usually on the LAN, so private
        // addresses are allowed; timeouts, redirects and schemes are checked
        // as for every other download.
        let fetcher = match Fetcher::new(FetchConfig {
            allow_private: true,
            accept_invalid_certs: insecure_tls,
            ..FetchConfig::default()
        }) {
            Ok(fetcher) => fetcher,
            Err(e) => {
                warn!(error = %e, "cannot set up the camera's HTTP client");
                self.fail(e.into());
                return;
            }
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            while !self.watched() {
                let wake = self.inner.wake.notified();
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wake => {}
                    // The watch window may lapse without a notification.
                    () = tokio::time::sleep(WATCH_WINDOW) => {}
                }
            }
            let attempt = tokio::select! {
                () = stop.cancelled() => return,
                attempt = self.read_camera(&fetcher, &url, &mut credentials) => attempt,
            };
            let pause = match attempt {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    interval
                }
                Err(error) => {
                    self.fail(error);
                    let pause = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    pause
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One snapshot, or an MJPEG stream until it ends, fails or nobody
    /// watches any more.
    async fn read_camera(
        &self,
        fetcher: &Fetcher,
        url: &Url,
        credentials: &mut Option<Credentials>,
    ) -> Result<(), CameraError> {
        let response = tokio::time::timeout(STALL_TIMEOUT, open(fetcher, url, credentials))
            .await
            .map_err(|_| CameraError::NoAnswer)??;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            let boundary = boundary(&content_type).ok_or(CameraError::NoBoundary)?;
            self.read_stream(response, &boundary).await
        } else {
            let body = tokio::time::timeout(
                STALL_TIMEOUT,
                fetch::read_limited(response, MAX_FRAME_BYTES as u64),
            )
            .await
            .map_err(|_| CameraError::SnapshotLate)??;
            if body.is_empty() {
                return Err(CameraError::EmptySnapshot);
            }
            self.publish(Arc::from(body.as_ref()));
            Ok(())
        }
    }

    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        boundary: &str,
    ) -> Result<(), CameraError> {
        let mut parser = MjpegParser::new(boundary, MAX_FRAME_BYTES);
        info!("camera stream open");
        loop {
            let chunk = tokio::time::timeout(STALL_TIMEOUT, fetch::next_chunk(&mut response))
                .await
                .map_err(|_| CameraError::Stalled)??;
            let Some(chunk) = chunk else {
                return Err(CameraError::Ended);
            };
            let frames = parser.push(&chunk)?;
            if let Some(newest) = frames.into_iter().next_back() {
                self.publish(Arc::from(newest));
                if !self.watched() {
                    debug!("nobody watches; closing the camera stream");
                    return Ok(());
                }
            }
        }
    }
}

/// Sends the request for the camera's picture or stream, with the
/// credentials the camera asked for. At most two requests: a 401 to an
/// answer of a challenge kept from before (its nonce may have expired, RFC
/// 7616 §3.4 `stale`) or to none earns one answer of the fresh challenge;
/// a 401 to that means the credentials are wrong.
async fn open(
    fetcher: &Fetcher,
    url: &Url,
    credentials: &mut Option<Credentials>,
) -> Result<reqwest::Response, CameraError> {
    let mut fresh_challenge = false;
    loop {
        let mut headers = HeaderMap::new();
        if let Some(value) = credentials.as_mut().and_then(|c| c.authorization(url)) {
            headers.insert(AUTHORIZATION, value);
        }
        let answered = !headers.is_empty();
        let response = fetcher.send_with(url.as_str(), headers).await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            let Some(credentials) = credentials.as_mut() else {
                return Err(CameraError::NeedsCredentials);
            };
            if answered && fresh_challenge {
                return Err(CameraError::CredentialsRefused(credentials.scheme_name()));
            }
            if !credentials.challenged(response.headers()) {
                return Err(CameraError::CredentialsRefused("no scheme we speak"));
            }
            debug!(
                scheme = credentials.scheme_name(),
                "the camera asks for credentials"
            );
            fresh_challenge = true;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                host: url.host_str().unwrap_or_default().to_string(),
                status: status.as_u16(),
            }
            .into());
        }
        return Ok(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera whose frames the test publishes itself.
    fn camera() -> Camera {
        Camera {
            inner: Arc::new(Inner {
                watched_until: Mutex::new(None),
                wake: Notify::new(),
                latest: watch::Sender::new(Latest::default()),
            }),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_session_gets_the_frame_that_arrives() {
        let camera = camera();
        let publisher = camera.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            publisher.publish(Arc::from(&b"one"[..]));
        });
        let frame = camera.next_frame(0, Duration::from_secs(5)).await;
        assert_eq!(
            frame.map(|f| (f.seq, f.data)),
            Ok((1, Arc::from(&b"one"[..])))
        );
        assert!(camera.watched(), "asking keeps the capture going");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_newer_frame_the_newest_comes_again() {
        let camera = camera();
        assert_eq!(
            camera.next_frame(0, Duration::from_secs(1)).await.err(),
            Some(CameraError::NoPictureYet)
        );
        camera.publish(Arc::from(&b"one"[..]));
        let again = camera.next_frame(1, Duration::from_secs(1)).await;
        assert_eq!(again.map(|f| f.seq), Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_reported_until_the_next_frame() {
        let camera = camera();
        camera.publish(Arc::from(&b"one"[..]));
        camera.fail(CameraError::Ended);
        assert_eq!(
            camera.next_frame(0, Duration::from_secs(1)).await.err(),
            Some(CameraError::Ended)
        );
        camera.publish(Arc::from(&b"two"[..]));
        let frame = camera.next_frame(1, Duration::from_secs(1)).await;
        assert_eq!(frame.map(|f| f.seq), Ok(2));
    }
}
