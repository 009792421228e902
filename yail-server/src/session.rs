//! What a client's commands mean: the session keeps its mode, its source
//! and a prefetched picture, and answers every request with exactly one
//! packet. Socket I/O lives in `connection.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use yail_core::Settings;
use yail_proto::{Command, GfxMode, Packet};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::connection::{Connection, Decoded};
use crate::error::RequestError;
use crate::services::Services;
use crate::services::generate::GenSettings;
use crate::services::pipeline::Converted;
use crate::sources::Source;
use crate::sources::files::Files;
use crate::sources::request::Request;
use crate::sources::search::SearchSource;
use crate::sources::url::UrlSource;

/// How long `video` waits for a camera frame newer than the one the
/// client has; after that it sends the newest one again.
const FRAME_WAIT: Duration = Duration::from_secs(1);
/// How long the first `video` request waits for the camera's first frame.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(5);
/// Pause before a video message frame: the client asks again at once, and
/// the message would otherwise be sent as fast as the link allows.
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
    /// A refused `gfx` value, reported with the next packet.
    pending_error: Option<RequestError>,
    source: Source,
    /// This session's generation settings (`openai-config` changes them).
    generation: GenSettings,
    /// Sequence number of the last camera frame sent.
    last_frame: u64,
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
            guard,
            shutdown,
            mode: GfxMode::Gr8,
            pending_error: None,
            source: Source::Nothing,
            generation: services.generator().session_settings(),
            services,
            last_frame: 0,
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
            Command::Files => self.switch(Source::Files(Files::default())).await?,
            Command::Video => self.switch(Source::Video).await?,
            Command::Next => self.respond().await?,
            Command::Search(term) if term.trim().is_empty() => {
                self.send_error(RequestError::NoSearchTerm).await?;
            }
            Command::Search(term) => self.switch(Source::Search(SearchSource::new(term))).await?,
            Command::ShowUrl(words) => match words.into_iter().next() {
                Some(url) => self.switch(Source::Url(UrlSource::new(url))).await?,
                None => self.send_error(RequestError::NoUrl).await?,
            },
            Command::Gen { model, prompt } => {
                let model = self
                    .services
                    .generator()
                    .choose_model(model.as_deref(), &self.generation);
                self.generate(model, prompt).await?;
            }
            Command::GenGemini(prompt) => {
                let model = self.services.generator().gemini_model(&self.generation);
                self.generate(model, prompt).await?;
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

    async fn generate(&mut self, model: String, prompt: String) -> std::io::Result<()> {
        self.switch(Source::Generate { model, prompt }).await
    }

    /// Shows or changes this session's generation settings. The answer is
    /// text, and an error packet is the only text a client prints.
    async fn openai_config(
        &mut self,
        param: Option<&str>,
        value: Option<&str>,
    ) -> std::io::Result<()> {
        let generator = &self.services.generator();
        if !generator.is_configured() {
            return self.send_error(RequestError::GenerationNotConfigured).await;
        }
        match generator.configure(&mut self.generation, param, value) {
            Ok(text) => {
                let packet = Packet::error(self.mode, &text).to_bytes();
                self.send(&packet, self.mode).await
            }
            Err(refusal) => self.send_error(RequestError::BadSetting(refusal)).await,
        }
    }

    /// Makes `source` what `next` repeats, and answers from it.
    async fn switch(&mut self, source: Source) -> std::io::Result<()> {
        // Dropping the old source aborts whatever it was preparing.
        self.source = source;
        self.guard
            .set_source(self.source.activity(), self.source.term());
        self.respond().await
    }

    /// Sends the one packet a request gets.
    async fn respond(&mut self) -> std::io::Result<()> {
        if matches!(self.source, Source::Video) {
            return self.respond_video().await;
        }
        if let Some(error) = self.pending_error.take() {
            return self.send_error(error).await;
        }
        let started = Instant::now();
        let mut timeout = self.services.config().request_timeout;
        if matches!(self.source, Source::Generate { .. }) {
            // The generator has its own timeout; conversion comes after.
            timeout = timeout.saturating_add(self.services.generator().timeout());
        }
        let produced = within(timeout, self.produce()).await;
        match produced {
            Ok(packet) => {
                self.send_picture(&packet, started).await?;
                let request = self.request();
                self.source.prefetch(&request);
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
        match &self.source {
            Source::Generate { model, prompt } => {
                let (model, prompt) = (model.clone(), prompt.clone());
                self.next_generated(&model, &prompt).await
            }
            _ => {
                let request = self.request();
                self.source.next(&request).await
            }
        }
    }

    fn request(&self) -> Request {
        Request {
            services: self.services.clone(),
            requested: self.mode,
            settings: self.settings(),
        }
    }

    async fn next_generated(
        &mut self,
        model: &str,
        prompt: &str,
    ) -> Result<Converted, RequestError> {
        let client = self.guard.info().peer.ip();
        let generated = self
            .services
            .generator()
            .generate(client, model, &self.generation, prompt)
            .await?;
        let settings = self.settings();
        let bytes = generated.bytes;
        let packet = self.services.pipeline().packet(
            "generated picture",
            &generated.identity,
            &settings,
            async { Ok(bytes) },
        );
        Ok(packet.await?)
    }

    /// Answers `video` or its `next`: always one 8800-byte frame, because
    /// the current client's video loop reads nothing else. A problem is
    /// drawn into the frame as text.
    async fn respond_video(&mut self) -> std::io::Result<()> {
        let mode = video_mode(self.settings().mode);
        let started = Instant::now();
        let produced = match self.pending_error.take() {
            Some(error) => Err(error),
            None => {
                within(
                    self.services.config().request_timeout,
                    self.next_frame_in(mode),
                )
                .await
            }
        };
        match produced {
            Ok(packet) => {
                self.send_picture(&packet, started).await?;
            }
            Err(error) => {
                self.services.state().metrics().record_error(error.kind());
                error.log();
                let message = error.to_string();
                let frame = yail_core::font::message_frame(mode, &message).unwrap_or_default();
                let packet = Packet::frame(mode, frame)
                    .map(|p| p.to_bytes())
                    .unwrap_or_default();
                tokio::select! {
                    () = self.shutdown.cancelled() => {}
                    () = tokio::time::sleep(MESSAGE_FRAME_PAUSE) => {}
                }
                self.send(&packet, mode).await?;
            }
        }
        Ok(())
    }

    fn settings(&self) -> Settings {
        let config = &self.services.config();
        let mut settings = Settings::new(self.mode);
        settings.random_modes.clone_from(&config.random_modes);
        settings.blend = config.blend;
        settings.tv = config.tv;
        settings.mode = settings.resolve_mode();
        settings
    }

    /// The newest camera frame converted for `mode`, waiting a little for
    /// one the client has not had yet.
    async fn next_frame_in(&mut self, mode: GfxMode) -> Result<Converted, RequestError> {
        let Some(camera) = self.services.camera() else {
            return Err(RequestError::NoCamera);
        };
        let wait = if self.last_frame == 0 {
            FIRST_FRAME_WAIT
        } else {
            FRAME_WAIT
        };
        let frame = camera.next_frame(self.last_frame, wait).await?;
        self.last_frame = frame.seq;
        let identity = format!("frame:{}", frame.seq);
        let data = Arc::clone(&frame.data);
        let mut settings = self.settings();
        settings.mode = mode;
        settings.fit = yail_core::Fit::Crop;
        let packet = self
            .services
            .pipeline()
            .packet("camera frame", &identity, &settings, async { Ok(data) });
        Ok(packet.await?)
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

    /// Answers a request with an error packet, counted once by its kind.
    async fn send_error(&mut self, error: RequestError) -> std::io::Result<()> {
        self.services.state().metrics().record_error(error.kind());
        error.log();
        let message = error.to_string();
        let packet = Packet::error(self.mode, &message).to_bytes();
        self.send(&packet, self.mode).await
    }
}

/// The mode camera frames are sent in: the session's when it is one of the
/// 8800-byte frame modes, Graphics 8 otherwise (the client's video loop
/// reads only such frames).
fn video_mode(mode: GfxMode) -> GfxMode {
    match mode {
        GfxMode::Gr8 | GfxMode::Gr9 | GfxMode::Gr11 | GfxMode::Gr15 => mode,
        _ => GfxMode::Gr8,
    }
}

/// `work`'s result, or a timeout error once `limit` has passed.
async fn within(
    limit: Duration,
    work: impl Future<Output = Result<Converted, RequestError>>,
) -> Result<Converted, RequestError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(RequestError::Timeout))
}
