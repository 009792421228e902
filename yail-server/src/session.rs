//! What a client's commands mean: the session keeps its mode, its source
//! and its generation settings, chooses the source a request names, and
//! answers every request with exactly one packet, from the source. Socket
//! I/O lives in `connection.rs`; pictures come from `sources/`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use yail_core::Settings;
use yail_proto::{Command, GfxMode, Packet};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::connection::{Connection, Decoded};
use crate::download_clock;
use crate::error::RequestError;
use crate::services::Services;
use crate::services::generate::GenSettings;
use crate::services::pipeline::Converted;
use crate::sources::{
    CameraFeed, Generation, Pictures, Request, SearchResults, Slideshow, Source, UrlPicture,
};

/// Pause before an error drawn as a picture: the client asks again at
/// once, and the message would otherwise be sent as fast as the link
/// allows.
const MESSAGE_FRAME_PAUSE: Duration = Duration::from_secs(1);

/// Whether the session goes on after a command.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

pub(crate) struct Session {
    connection: Connection,
    guard: ConnectionGuard,
    services: Services,
    shutdown: CancellationToken,
    mode: GfxMode,
    /// The client's address.
    client: IpAddr,
    /// A refused `gfx` value, reported with the next packet.
    pending_error: Option<RequestError>,
    /// What `next` repeats; `None` until the first request.
    source: Option<Source>,
    /// This session's generation settings (`openai-config` changes them).
    generation: GenSettings,
}

impl Session {
    pub(crate) fn new(
        connection: Connection,
        guard: ConnectionGuard,
        services: Services,
        shutdown: CancellationToken,
    ) -> Session {
        Session {
            connection,
            shutdown,
            mode: GfxMode::Gr8,
            client: guard.info().peer.ip(),
            pending_error: None,
            source: None,
            generation: services.generator().session_settings(),
            services,
            guard,
        }
    }

    /// Serves the client until it leaves, goes quiet, or the server stops.
    pub(crate) async fn run(mut self) {
        match self.serve().await {
            Ok(()) => debug!("session ended"),
            Err(e) => {
                self.services.state().metrics().record_error(ErrorKind::Io);
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
                self.pending_error = Some(RequestError::BadMode(e));
                return Ok(Flow::Continue);
            }
            Err(e) => {
                self.send_error(RequestError::BadCommand(e)).await?;
                return Ok(Flow::Continue);
            }
        };
        debug!(?command, "command");
        match command {
            Command::Gfx(mode) => {
                self.mode = mode;
                self.pending_error = None;
                self.guard.set_mode(mode.wire());
            }
            Command::Quit => return Ok(Flow::Close),
            Command::Http(method) => {
                info!(?method, "HTTP request on the YAIL port; refusing");
                self.services
                    .state()
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.connection.refuse_http().await?;
                return Ok(Flow::Close);
            }
            Command::Next => self.respond().await?,
            Command::Files => self.switch(Source::Files(Slideshow::default())).await?,
            Command::Video => self.switch(Source::Camera(CameraFeed::default())).await?,
            Command::Search(term) if term.trim().is_empty() => {
                self.send_error(RequestError::NoSearchTerm).await?;
            }
            Command::Search(term) => {
                self.switch(Source::Search(SearchResults::new(term)))
                    .await?;
            }
            Command::ShowUrl(words) => match words.into_iter().next() {
                Some(url) => self.switch(Source::Url(UrlPicture::new(url))).await?,
                None => self.send_error(RequestError::NoUrl).await?,
            },
            Command::Gen { model, prompt } => {
                let generator = self.services.generator();
                let model = generator.choose_model(model.as_deref(), &self.generation);
                self.switch(Source::Generation(Generation::new(model, prompt)))
                    .await?;
            }
            Command::GenGemini(prompt) => {
                let model = self.services.generator().gemini_model(&self.generation);
                self.switch(Source::Generation(Generation::new(model, prompt)))
                    .await?;
            }
            Command::OpenAiConfig { param, value } => {
                self.openai_config(param.as_deref(), value.as_deref())
                    .await?;
            }
            Command::Unknown(text) => {
                let shown: String = text.chars().take(40).collect();
                self.send_error(RequestError::UnknownCommand(shown)).await?;
            }
        }
        Ok(Flow::Continue)
    }

    /// Shows or changes this session's generation settings. The answer is
    /// text, and an error packet is the only text a client prints.
    async fn openai_config(
        &mut self,
        param: Option<&str>,
        value: Option<&str>,
    ) -> std::io::Result<()> {
        let generator = self.services.generator();
        if !generator.is_configured() {
            return self.send_error(RequestError::GenerationNotConfigured).await;
        }
        match generator.configure(&mut self.generation, param, value) {
            Ok(text) => {
                let packet = Packet::error(self.mode, &text).to_bytes();
                self.send(&packet, self.mode).await
            }
            Err(refusal) => self.send_error(refusal.into()).await,
        }
    }

    /// Makes `source` what `next` repeats, and answers from it.
    async fn switch(&mut self, source: Source) -> std::io::Result<()> {
        let (name, term) = source.activity();
        self.guard.set_source(name, term);
        // Dropping the old source aborts whatever it was preparing.
        self.source = Some(source);
        self.respond().await
    }

    /// Sends the one packet a request gets: the source's next picture, or
    /// an error.
    async fn respond(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        let request = self.request();
        let produced = match (self.pending_error.take(), &mut self.source) {
            (Some(error), _) => Err(error),
            (None, None) => Err(RequestError::NothingToRepeat),
            (None, Some(source)) => {
                let limit = source.time_limit(&self.services);
                let next =
                    download_clock::scope(self.connection.download_clock(), source.next(&request));
                // A full server may close this session while its request
                // waits on a slow download: the download is dropped and
                // the command answered with an error; the session ends at
                // its next read.
                let evicted = async {
                    self.shutdown.cancelled().await;
                    if !self.connection.is_evicted() {
                        std::future::pending::<()>().await;
                    }
                };
                let produced = tokio::select! {
                    produced = tokio::time::timeout(limit, next) => {
                        produced.unwrap_or(Err(RequestError::Timeout))
                    }
                    () = evicted => Err(RequestError::Evicted),
                };
                if let Err(error) = &produced {
                    self.guard.record_failure(&error.to_string());
                }
                produced
            }
        };
        match produced {
            Ok(packet) => {
                self.send_picture(&packet, started).await?;
                if let Some(source) = &mut self.source
                    && self.services.config().prefetch
                {
                    source.prefetch(&request);
                }
                Ok(())
            }
            Err(error) => self.send_error(error).await,
        }
    }

    /// What a source is given for this session's next request.
    fn request(&self) -> Request {
        Request {
            services: self.services.clone(),
            requested: self.mode,
            settings: self.settings(),
            client: self.client,
            generation: self.generation.clone(),
        }
    }

    /// The conversion settings of this session, with a concrete mode
    /// ("random" picks one now).
    fn settings(&self) -> Settings {
        let config = self.services.config();
        let mut settings = Settings::new(self.mode);
        settings.random_modes.clone_from(&config.random_modes);
        settings.blend = config.blend;
        settings.tv = config.tv;
        settings.mode = settings.resolve_mode();
        settings
    }

    /// Sends a picture and lists it on the admin page. It is recorded
    /// before the write: a client may read the packet before this task
    /// runs again, and the admin page should already list it by then.
    async fn send_picture(&mut self, packet: &Converted, started: Instant) -> std::io::Result<()> {
        self.guard.record_picture(&packet.bytes, started.elapsed());
        self.send(&packet.bytes, packet.mode).await
    }

    async fn send(&mut self, packet: &[u8], mode: GfxMode) -> std::io::Result<()> {
        self.connection.write_packet(packet).await?;
        self.services
            .state()
            .metrics()
            .record_packet(mode.wire(), packet.len());
        Ok(())
    }

    /// Answers with an error, counted once by its kind and logged. This is
    /// where the session decides how the client is told: an error packet,
    /// whose text the client prints, unless the current source says the
    /// client reads nothing but pictures (the camera), in which case the
    /// message is drawn into one.
    async fn send_error(&mut self, error: RequestError) -> std::io::Result<()> {
        self.services.state().metrics().record_error(error.kind());
        error.log();
        let message = error.to_string();
        let drawn_in = self
            .source
            .as_ref()
            .and_then(|source| source.error_frame_mode(self.settings().mode));
        match drawn_in {
            Some(mode) => {
                let frame = yail_core::font::message_frame(mode, &message).unwrap_or_default();
                let packet = Packet::frame(mode, frame)
                    .map(|p| p.to_bytes())
                    .unwrap_or_default();
                tokio::select! {
                    () = self.shutdown.cancelled() => {}
                    () = tokio::time::sleep(MESSAGE_FRAME_PAUSE) => {}
                }
                self.send(&packet, mode).await
            }
            None => {
                let packet = Packet::error(self.mode, &message).to_bytes();
                self.send(&packet, self.mode).await
            }
        }
    }
}
