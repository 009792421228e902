//! One client connection: read commands, answer each request with exactly
//! one packet, keep the session's own mode, source and prefetched picture.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use yail_core::Settings;
use yail_proto::{Command, CommandDecoder, CommandError, GfxMode, Packet};
use yail_state::{ConnectionGuard, ErrorKind};

use crate::Shared;
use crate::files::Picture;
use crate::pipeline::{MAX_SOURCE_BYTES, PipelineError};

/// What the reply to an HTTP request line says before the connection closes.
const HTTP_FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nNot Allowed";

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
    packet: Option<JoinHandle<Result<Bytes, PipelineError>>>,
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
    stream: TcpStream,
    buffer: BytesMut,
    decoder: CommandDecoder,
    guard: ConnectionGuard,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    mode: GfxMode,
    /// A refused `gfx` value, reported with the next packet.
    pending_error: Option<String>,
    source: Source,
    last_file: Option<PathBuf>,
    last_frame: u64,
    prefetch: Option<Prefetch>,
}

impl Session {
    pub(crate) fn new(
        stream: TcpStream,
        guard: ConnectionGuard,
        shared: Arc<Shared>,
        shutdown: CancellationToken,
    ) -> Session {
        let decoder = CommandDecoder::with_max_length(shared.config.max_command_len);
        Session {
            stream,
            buffer: BytesMut::with_capacity(64),
            decoder,
            guard,
            shared,
            shutdown,
            mode: GfxMode::Gr8,
            pending_error: None,
            source: Source::Nothing,
            last_file: None,
            last_frame: 0,
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
        let config = &self.shared.config;
        let (idle_flush, idle_timeout) = (config.idle_flush, config.idle_timeout);
        loop {
            // Answer every command already complete in the buffer.
            loop {
                let decoded = self.decoder.decode(&mut self.buffer);
                match decoded {
                    Ok(None) => break,
                    other => {
                        if self.handle(other.transpose()).await? == Flow::Close {
                            return Ok(());
                        }
                    }
                }
            }
            let waiting = !self.buffer.is_empty();
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ok(()),
                read = self.stream.read_buf(&mut self.buffer) => {
                    if read? == 0 {
                        // The client closed: answer what it managed to send.
                        let last = self.decoder.decode_eof(&mut self.buffer);
                        if let Some(command) = last.transpose() {
                            self.handle(Some(command)).await?;
                        }
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(idle_flush), if waiting => {
                    // The sender paused: a bare-word command is complete.
                    let flushed = self.decoder.decode_idle(&mut self.buffer);
                    if let Some(command) = flushed.transpose()
                        && self.handle(Some(command)).await? == Flow::Close
                    {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(idle_timeout) => {
                    info!("closing idle session");
                    return Ok(());
                }
            }
        }
    }

    async fn handle(
        &mut self,
        decoded: Option<Result<Command, CommandError>>,
    ) -> std::io::Result<Flow> {
        let Some(decoded) = decoded else {
            return Ok(Flow::Continue);
        };
        let command = match decoded {
            Ok(command) => command,
            Err(e) if e.is_gfx_error() => {
                // The client reads nothing after `gfx`: tell it next time.
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.pending_error = Some(format!("unsupported graphics mode: {e}"));
                return Ok(Flow::Continue);
            }
            Err(e) => {
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.send_error(&format!("bad command: {e}")).await?;
                return Ok(Flow::Continue);
            }
        };
        debug!(?command, "command");
        match command {
            Command::Gfx(mode) => {
                self.mode = mode;
                self.pending_error = None;
                self.guard.update(|s| s.mode = Some(u8::from(mode)));
            }
            Command::Quit => return Ok(Flow::Close),
            Command::Http(method) => {
                info!(?method, "HTTP request on the YAIL port; refusing");
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                self.stream.write_all(HTTP_FORBIDDEN).await?;
                let _ = self.stream.shutdown().await;
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
                self.send_error("image generation is not configured on this server")
                    .await?;
            }
            Command::Unknown(text) => {
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                let shown: String = text.chars().take(40).collect();
                self.send_error(&format!("unknown command: {shown}"))
                    .await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn unavailable(&mut self, what: &'static str) -> std::io::Result<()> {
        self.source = Source::Unavailable(what);
        self.respond().await
    }

    fn set_activity(&self, activity: &str) {
        self.guard.update(|s| activity.clone_into(&mut s.activity));
    }

    /// Sends the one packet a request gets.
    async fn respond(&mut self) -> std::io::Result<()> {
        if let Some(message) = self.pending_error.take() {
            return self.send_error(&message).await;
        }
        let timeout = self.shared.config.request_timeout;
        let produced = match tokio::time::timeout(timeout, self.produce()).await {
            Ok(produced) => produced,
            Err(_) => {
                self.shared.state.metrics().record_error(ErrorKind::Timeout);
                Err(String::from("the picture took too long; try again"))
            }
        };
        match produced {
            Ok(packet) => {
                self.send(&packet).await?;
                self.guard.record_image();
                self.start_prefetch();
                Ok(())
            }
            Err(message) => self.send_error(&message).await,
        }
    }

    /// The packet for the current source, or the message for an error packet.
    async fn produce(&mut self) -> Result<Bytes, String> {
        match self.source {
            Source::Nothing => {
                self.shared
                    .state
                    .metrics()
                    .record_error(ErrorKind::BadRequest);
                Err(String::from(
                    "nothing to show again yet: ask for files first",
                ))
            }
            Source::Unavailable(what) => {
                self.shared.state.metrics().record_error(ErrorKind::Source);
                Err(format!("{what} is not available on this server yet"))
            }
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

    async fn next_file(&mut self) -> Result<Bytes, String> {
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
                return Err(String::from("this server has no pictures to show"));
            };
            self.last_file = Some(entry.clone());
            match convert_file(&self.shared, entry, self.settings()).await {
                Ok(packet) => return Ok(packet),
                Err(e) => {
                    self.shared.state.metrics().record_error(e.kind());
                    warn!(error = %e, "skipping a picture");
                    last_error = Some(e);
                }
            }
        }
        Err(match last_error {
            Some(e) => format!("no readable pictures found; last problem: {e}"),
            None => String::from("no readable pictures found"),
        })
    }

    async fn next_frame(&mut self) -> Result<Bytes, String> {
        let Some(frame) = self.shared.state.frames().latest() else {
            return Err(String::from("this server has no camera"));
        };
        self.last_frame = frame.seq;
        let identity = format!("frame:{}", frame.seq);
        let data = Arc::clone(&frame.data);
        let settings = self.settings();
        let packet = self
            .shared
            .pipeline
            .packet("camera frame", &identity, &settings, async { Ok(data) });
        packet.await.map_err(|e| e.to_string())
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

    async fn send(&mut self, packet: &[u8]) -> std::io::Result<()> {
        let write = self.stream.write_all(packet);
        match tokio::time::timeout(self.shared.config.idle_timeout, write).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "client stopped reading",
                ));
            }
        }
        let mode = packet.get(3).copied().unwrap_or(0);
        self.shared
            .state
            .metrics()
            .record_packet(mode, packet.len());
        Ok(())
    }

    async fn send_error(&mut self, message: &str) -> std::io::Result<()> {
        debug!(message, "error packet");
        let packet = Packet::error(u8::from(self.mode), message).to_bytes();
        self.send(&packet).await
    }
}

/// Loads and converts one catalogue entry through the shared pipeline.
async fn convert_file(
    shared: &Shared,
    entry: PathBuf,
    settings: Settings,
) -> Result<Bytes, PipelineError> {
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
