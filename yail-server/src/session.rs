//! What a client's commands mean: the session keeps its mode, its source
//! and a prefetched picture, and answers every request with exactly one
//! packet. Socket I/O lives in `connection.rs`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use yail_core::Settings;
use yail_proto::{Command, GfxMode, Packet};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::Shared;
use crate::cache::Converted;
use crate::connection::{Connection, Decoded};
use crate::error::RequestError;
use crate::sources::files::Files;
use crate::sources::search::SearchSource;
use crate::sources::url::UrlSource;
use crate::sources::{Context, Source};

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
            Command::Files => self.switch(Source::Files(Files::default())).await?,
            Command::Video => self.switch(Source::Video).await?,
            Command::Next => self.respond().await?,
            Command::Search(term) if term.trim().is_empty() => {
                let problem = String::from("search needs a term");
                self.send_error(RequestError::BadCommand(problem)).await?;
            }
            Command::Search(term) => self.switch(Source::Search(SearchSource::new(term))).await?,
            Command::ShowUrl(words) => match words.into_iter().next() {
                Some(url) => self.switch(Source::Url(UrlSource::new(url))).await?,
                None => {
                    let problem = String::from("showurl needs a URL");
                    self.send_error(RequestError::BadCommand(problem)).await?;
                }
            },
            Command::Gen { .. } | Command::GenGemini(_) => {
                self.unavailable("image generation").await?
            }
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
        self.switch(Source::Unavailable(what)).await
    }

    /// Makes `source` what `next` repeats, and answers from it.
    async fn switch(&mut self, source: Source) -> std::io::Result<()> {
        // Dropping the old source aborts whatever it was preparing.
        self.source = source;
        let activity = self.source.activity();
        self.guard.set_source(&activity, None);
        self.respond().await
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
                let context = self.context();
                self.source.prefetch(&context);
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
        if matches!(self.source, Source::Video) {
            return self.next_frame().await;
        }
        let context = self.context();
        self.source.next(&context).await
    }

    fn context(&self) -> Context {
        Context {
            shared: Arc::clone(&self.shared),
            requested: self.mode,
            settings: self.settings(),
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
