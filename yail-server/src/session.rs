//! What a client's commands mean: the session keeps its mode, its source
//! and a prefetched picture, and answers every request with exactly one
//! packet. Socket I/O lives in `connection.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use yail_core::Settings;
use yail_proto::{Command, GfxMode, Packet};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::Shared;
use crate::cache::Converted;
use crate::connection::{Connection, Decoded};
use crate::error::RequestError;
use crate::files::Picture;
use crate::pipeline::{MAX_SOURCE_BYTES, PipelineError};

/// What `next` repeats.
enum Source {
    Nothing,
    Files,
    /// A source this server does not provide; `next` says so again.
    Unavailable(&'static str),
    Video,
}

/// A picture being prepared for the next `next`.
struct Prefetch {
    mode: GfxMode,
    path: PathBuf,
    /// Taken when used; aborted if the prefetch is dropped unused.
    packet: Option<JoinHandle<Result<Converted, PipelineError>>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(task) = &self.packet {
            task.abort();
        }
    }
}

/// Whether the session goes on after a command.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

pub(crate) struct Session {
    connection: Connection,
    guard: ConnectionGuard,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    mode: GfxMode,
    /// A refused `gfx` value, reported with the next packet.
    pending_error: Option<RequestError>,
    source: Source,
    last_file: Option<PathBuf>,
    prefetch: Option<Prefetch>,
}

impl Session {
    pub(crate) fn new(
        connection: Connection,
        guard: ConnectionGuard,
        shared: Arc<Shared>,
        shutdown: CancellationToken,
    ) -> Session {
        Session {
            connection,
            guard,
            shared,
            shutdown,
            mode: GfxMode::Gr8,
            pending_error: None,
            source: Source::Nothing,
            last_file: None,
            prefetch: None,
        }
    }

    /// Serves the client until it leaves, goes quiet, or the server stops.
    pub(crate) async fn run(mut self) {
        match self.serve().await {
            Ok(()) => debug!("session ended"),
            Err(e) => {
                self.shared.state.metrics().record_error(ErrorKind::Io);
                debug!(error = %e, "session ended by an I/O error");
            }
        }
    }

    async fn serve(&mut self) -> std::io::Result<()> {
        while let Some(decoded) = self.connection.read_command(&self.shutdown).await? {
            if self.handle(decoded).await? == Flow::Close {
                break;
            }
        }
        Ok(())
    }

    async fn handle(&mut self, decoded: Decoded) -> std::io::Result<Flow> {
        let command = match decoded {
            Ok(command) => command,
            Err(e) if e.is_gfx_error() => {
                // The client reads nothing after `gfx`: tell it next time.
                self.pending_error = Some(RequestError::BadMode(e.to_string()));
                return Ok(Flow::Continue);
            }
            Err(e) => {
                self.send_error(RequestError::BadCommand(e.to_string()))
                    .await?;
                return Ok(Flow::Continue);
            }
        };
        debug!(?command, "command");
        match command {
            Command::Gfx(mode) => {
                self.mode = mode;
                self.pending_error = None;
                self.guard.set_mode(u8::from(mode));
            }
            Command::Quit => return Ok(Flow::Close),
            Command::Http(method) => {
                info!(?method, "HTTP request on the YAIL port; refusing");
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.connection.refuse_http().await?;
                return Ok(Flow::Close);
            }
            Command::Files => {
                self.source = Source::Files;
                self.set_activity("files");
                self.respond().await?;
            }
            Command::Video => {
                self.source = Source::Video;
                self.set_activity("video");
                self.respond().await?;
            }
            Command::Next => self.respond().await?,
            Command::Search(_) => self.unavailable("web image search").await?,
            Command::Gen { .. } | Command::GenGemini(_) => {
                self.unavailable("image generation").await?
            }
            Command::ShowUrl(_) => self.unavailable("showing pictures from URLs").await?,
            Command::OpenAiConfig { .. } => {
                self.send_error(RequestError::GenerationNotConfigured)
                    .await?;
            }
            Command::Unknown(text) => {
                let shown: String = text.chars().take(40).collect();
                self.send_error(RequestError::UnknownCommand(shown)).await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn unavailable(&mut self, what: &'static str) -> std::io::Result<()> {
        self.source = Source::Unavailable(what);
        self.respond().await
    }

    fn set_activity(&self, activity: &str) {
        self.guard.set_source(activity, None);
    }

    /// Sends the one packet a request gets.
    async fn respond(&mut self) -> std::io::Result<()> {
        if let Some(error) = self.pending_error.take() {
            return self.send_error(error).await;
        }
        let timeout = self.shared.config.request_timeout;
        let started = std::time::Instant::now();
        let produced = match tokio::time::timeout(timeout, self.produce()).await {
            Ok(produced) => produced,
            Err(_) => Err(RequestError::Timeout),
        };
        match produced {
            Ok(packet) => {
                let took = started.elapsed();
                self.send(&packet.bytes, packet.mode).await?;
                self.guard.record_picture(&packet.bytes, took);
                self.start_prefetch();
                Ok(())
            }
            Err(error) => {
                if !matches!(self.source, Source::Nothing) {
                    self.guard.record_failure(&error.to_string());
                }
                self.send_error(error).await
            }
        }
    }

    /// The packet for the current source.
    async fn produce(&mut self) -> Result<Converted, RequestError> {
        match self.source {
            Source::Nothing => Err(RequestError::NothingToRepeat),
            Source::Unavailable(what) => Err(RequestError::Unavailable(what)),
            Source::Video => self.next_frame().await,
            Source::Files => self.next_file().await,
        }
    }

    fn settings(&self) -> Settings {
        let config = &self.shared.config;
        let mut settings = Settings::new(self.mode);
        settings.random_modes.clone_from(&config.random_modes);
        settings.blend = config.blend;
        settings.tv = config.tv;
        settings.mode = settings.resolve_mode();
        settings
    }

    async fn next_file(&mut self) -> Result<Converted, RequestError> {
        if let Some(mut prefetch) = self.prefetch.take()
            && prefetch.mode == self.mode
            && let Some(task) = prefetch.packet.take()
            && let Ok(Ok(packet)) = task.await
        {
            // A failed prefetch falls through to a fresh pick below.
            self.last_file = Some(prefetch.path.clone());
            return Ok(packet);
        }
        let mut last_error = None;
        for _ in 0..=self.shared.config.file_retries {
            let Some(entry) = self
                .shared
                .state
                .random_file_except(self.last_file.as_deref())
            else {
                return Err(RequestError::NoPictures);
            };
            self.last_file = Some(entry.clone());
            match convert_file(&self.shared, entry, self.settings()).await {
                Ok(packet) => return Ok(packet),
                Err(e) => {
                    warn!(error = %e, "skipping a picture");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.map_or(RequestError::NoPictures, RequestError::NoReadablePictures))
    }

    async fn next_frame(&mut self) -> Result<Converted, RequestError> {
        let Some(frame) = self.shared.state.frames().latest() else {
            return Err(RequestError::NoCamera);
        };
        let identity = format!("frame:{}", frame.seq);
        let data = Arc::clone(&frame.data);
        let settings = self.settings();
        let packet = self
            .shared
            .pipeline
            .packet("camera frame", &identity, &settings, async { Ok(data) });
        Ok(packet.await?)
    }

    /// While the Atari shows a `files` picture, prepare the next one.
    fn start_prefetch(&mut self) {
        if !self.shared.config.prefetch || !matches!(self.source, Source::Files) {
            return;
        }
        let Some(path) = self
            .shared
            .state
            .random_file_except(self.last_file.as_deref())
        else {
            return;
        };
        let (shared, settings) = (Arc::clone(&self.shared), self.settings());
        let entry = path.clone();
        let packet = tokio::spawn(async move { convert_file(&shared, entry, settings).await });
        self.prefetch = Some(Prefetch {
            mode: self.mode,
            path,
            packet: Some(packet),
        });
    }

    async fn send(&mut self, packet: &[u8], mode: GfxMode) -> std::io::Result<()> {
        self.connection.write_packet(packet).await?;
        self.shared
            .state
            .metrics()
            .record_packet(u8::from(mode), packet.len());
        Ok(())
    }

    /// Answers a request with an error packet, counted once by its kind.
    async fn send_error(&mut self, error: RequestError) -> std::io::Result<()> {
        self.shared.state.metrics().record_error(error.kind());
        let message = error.to_string();
        debug!(message, "error packet");
        let packet = Packet::error(u8::from(self.mode), &message).to_bytes();
        self.send(&packet, self.mode).await
    }
}

/// Loads and converts one catalogue entry through the shared pipeline.
async fn convert_file(
    shared: &Shared,
    entry: PathBuf,
    settings: Settings,
) -> Result<Converted, PipelineError> {
    let picture = Picture::of_entry(&entry);
    let name = picture.name();
    let identity = picture.identity().await.map_err(|e| PipelineError::Load {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    shared
        .pipeline
        .packet(&name, &identity, &settings, picture.load(MAX_SOURCE_BYTES))
        .await
}
