//! What a client's commands mean: the session keeps its mode, its source
//! and its generation settings, chooses the source a request names, and
//! answers every request with exactly one packet, from the source. Socket
//! I/O lives in `connection.rs`; pictures come from `sources/`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{Level, debug, info};
use yail_core::Settings;
use yail_proto::{Command, ErrorDelivery, GfxMode};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::connection::{Connection, Decoded, EndReason};
use crate::delivery::message_answer;
use crate::download_clock;
use crate::error::RequestError;
use crate::log_budget::LogBudget;
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

/// Request lines a session may log at once, and how often it may log
/// one more after that: a client asking for pictures as fast as the link
/// allows (or a camera at several frames a second) gets a line a second.
const REQUEST_LINES_BURST: u32 = 20;
const REQUEST_LINE_REFILL: Duration = Duration::from_secs(1);

/// What a command's answer was, for its log line.
enum Answered {
    Picture {
        mode: GfxMode,
        bytes: usize,
    },
    /// Text the client asked for (`openai-config`).
    Text {
        mode: GfxMode,
        bytes: usize,
        drawn: bool,
    },
    Failure {
        mode: GfxMode,
        bytes: usize,
        drawn: bool,
        /// The error's metrics category.
        kind: &'static str,
        /// The error, with the causes the client's message leaves out.
        error: String,
        /// The operator's business (a warning), not the client's mistake.
        warning: bool,
    },
}

/// What the log says of an error besides the client's message.
struct Failure {
    /// The error's metrics category.
    kind: &'static str,
    /// The message with the causes it leaves out.
    detail: String,
    /// The operator's business (a warning), not the client's mistake.
    warning: bool,
}

/// How a message was sent, for the log.
fn sent_as(drawn: bool) -> &'static str {
    if drawn { "picture" } else { "error packet" }
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
    /// How this client wants errors (`errors packets` or `auto`).
    errors: ErrorDelivery,
    /// The answer to the command being handled, for its log line.
    answered: Option<Answered>,
    /// Pictures and messages sent, for the line logged at the end.
    pictures_sent: u64,
    errors_sent: u64,
    started: Instant,
    log_budget: LogBudget,
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
            errors: ErrorDelivery::Auto,
            answered: None,
            pictures_sent: 0,
            errors_sent: 0,
            started: Instant::now(),
            log_budget: LogBudget::new(REQUEST_LINES_BURST, REQUEST_LINE_REFILL),
            services,
            guard,
        }
    }

    /// Serves the client until it leaves, goes quiet, or the server stops,
    /// and logs one line saying how long, what was sent and why it ended.
    pub(crate) async fn run(mut self) {
        let reason = self.serve().await;
        if matches!(reason, EndReason::Io(_)) {
            self.services.state().metrics().record_error(ErrorKind::Io);
        }
        info!(
            duration = %format_args!("{:.1} s", self.started.elapsed().as_secs_f64()),
            pictures = self.pictures_sent,
            errors = self.errors_sent,
            unlogged_requests = self.log_budget.unlogged_total(),
            %reason,
            "disconnected"
        );
    }

    async fn serve(&mut self) -> EndReason {
        loop {
            let decoded = match self.connection.read_command(&self.shutdown).await {
                Ok(decoded) => decoded,
                Err(end) => return end,
            };
            // Boxed: answering a command (a search race, a download, a
            // conversion) is a future of some 18 KB, which an idle session
            // waiting for its command would otherwise hold all the while;
            // with it boxed, 1000 idle connections take 5 MB, not 20.
            match Box::pin(self.handle(decoded)).await {
                Ok(None) => {}
                Ok(Some(end)) => return end,
                Err(e) => return EndReason::Io(e),
            }
        }
    }

    /// Answers one command; `Some` when the session ends with it.
    async fn handle(&mut self, decoded: Decoded) -> std::io::Result<Option<EndReason>> {
        let started = Instant::now();
        let command = match decoded {
            Ok(command) => command,
            Err(e) if e.expects_no_reply() => {
                // The client reads nothing after `gfx` (or `errors`): tell
                // it with the next packet.
                debug!(error = %e, "refused; reported with the next answer");
                self.pending_error = Some(if e.is_gfx_error() {
                    RequestError::BadMode(e)
                } else {
                    RequestError::BadCommand(e)
                });
                return Ok(None);
            }
            Err(e) => {
                self.send_error(RequestError::BadCommand(e)).await?;
                self.log_answer("bad command", started);
                return Ok(None);
            }
        };
        debug!(?command, "command");
        let name = command.name();
        match command {
            Command::Gfx(mode) => {
                self.mode = mode;
                self.pending_error = None;
                self.guard.set_mode(mode.wire());
                return Ok(None);
            }
            Command::Errors(delivery) => {
                self.errors = delivery;
                return Ok(None);
            }
            Command::Quit => return Ok(Some(EndReason::Quit)),
            Command::Http(method) => {
                info!(?method, "HTTP request on the YAIL port; refusing");
                self.services
                    .state()
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.connection.refuse_http().await?;
                return Ok(Some(EndReason::Http));
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
        self.log_answer(name, started);
        Ok(None)
    }

    /// The one line a request gets: the command, the source, and the
    /// picture sent or the error. Unknown and malformed commands are a
    /// client's noise and go to debug; the others to info (a failure that
    /// is the operator's business to warn), within the session's budget
    /// of lines.
    fn log_answer(&mut self, command: &str, started: Instant) {
        let Some(answered) = self.answered.take() else {
            return;
        };
        let noise = matches!(command, "unknown" | "bad command");
        let level = match &answered {
            _ if noise => Level::DEBUG,
            Answered::Failure { warning: true, .. } => Level::WARN,
            _ => Level::INFO,
        };
        if level != Level::DEBUG && !tracing::enabled!(Level::INFO) {
            return;
        }
        let unlogged = if level == Level::DEBUG {
            Some(0)
        } else {
            self.log_budget.take()
        };
        let Some(unlogged) = unlogged else {
            return;
        };
        let source = self.source.as_ref().map_or("none", |s| s.activity().0);
        let ms = started.elapsed().as_millis();
        match answered {
            Answered::Picture { mode, bytes } => info!(
                command,
                source,
                mode = mode.name(),
                bytes,
                ms,
                unlogged,
                "request"
            ),
            Answered::Text { mode, bytes, drawn } => info!(
                command,
                source,
                mode = mode.name(),
                bytes,
                ms,
                sent_as = sent_as(drawn),
                unlogged,
                "request"
            ),
            Answered::Failure {
                mode,
                bytes,
                drawn,
                kind,
                error,
                ..
            } => {
                let (mode, sent_as) = (mode.name(), sent_as(drawn));
                match level {
                    Level::WARN => tracing::warn!(
                        command, source, mode, bytes, ms, sent_as, kind, %error, unlogged,
                        "request failed"
                    ),
                    Level::INFO => info!(
                        command, source, mode, bytes, ms, sent_as, kind, %error, unlogged,
                        "request failed"
                    ),
                    _ => debug!(command, mode, bytes, sent_as, kind, %error, "request failed"),
                }
            }
        }
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
            Ok(text) => self.send_message(&text, None).await,
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
        self.answered = Some(Answered::Picture {
            mode: packet.mode,
            bytes: packet.bytes.len(),
        });
        self.pictures_sent += 1;
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

    /// Answers with an error, counted once by its kind.
    async fn send_error(&mut self, error: RequestError) -> std::io::Result<()> {
        self.services.state().metrics().record_error(error.kind());
        self.errors_sent += 1;
        let failure = Failure {
            kind: error.kind().name(),
            detail: error.detail(),
            warning: error.is_operators_business(),
        };
        self.send_message(&error.to_string(), Some(failure)).await
    }

    /// Tells the client `message` (an error, or the text `openai-config`
    /// answers with). This is where the session decides how: drawn into
    /// an 8800-byte frame when the current source says the client reads
    /// nothing but those (the camera's loop); drawn into a picture of the
    /// session's mode where the client would print an error packet's text
    /// to its hidden text screen, unless the client asked for `errors
    /// packets`; an error packet otherwise (see `delivery.rs`).
    async fn send_message(
        &mut self,
        message: &str,
        failure: Option<Failure>,
    ) -> std::io::Result<()> {
        let shown = self.settings().mode;
        let frames_only = self
            .source
            .as_ref()
            .and_then(|source| source.error_frame_mode(shown));
        let answer = message_answer(message, self.mode, shown, self.errors, frames_only);
        let (mode, bytes, drawn) = (answer.mode, answer.bytes.len(), answer.drawn);
        self.answered = Some(match failure {
            Some(Failure {
                kind,
                detail,
                warning,
            }) => Answered::Failure {
                mode,
                bytes,
                drawn,
                kind,
                error: detail,
                warning,
            },
            None => Answered::Text { mode, bytes, drawn },
        });
        if frames_only.is_some() {
            // The camera's loop asks again at once: without a pause the
            // message would be sent as fast as the link allows.
            tokio::select! {
                () = self.shutdown.cancelled() => {}
                () = tokio::time::sleep(MESSAGE_FRAME_PAUSE) => {}
            }
        }
        self.send(&answer.bytes, answer.mode).await
    }
}
