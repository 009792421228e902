//! One client socket: bytes in, commands out; packets in, bytes out.
//!
//! This is the I/O half of a session (in the spirit of mini-redis's
//! `Connection`): it owns the socket, the read buffer and the command
//! decoder, and knows the protocol's timing rules. What a command *means*
//! is the session's business (`session.rs`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;
use yail_proto::{Command, CommandDecoder, CommandError};

/// What the reply to an HTTP request line says before the connection closes.
const HTTP_FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nNot Allowed";

/// How long the connection waits for its peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// A bare-word command that pauses this long is taken as complete.
    pub(crate) idle_flush: Duration,
    /// A peer that sends nothing for this long is closed; a peer that does
    /// not read a packet for this long is dropped.
    pub(crate) idle_timeout: Duration,
    /// A command whose first byte arrived must be complete this much later,
    /// however slowly the rest trickles in.
    pub(crate) command_timeout: Duration,
}

/// When the kernel starts probing a silent peer, and how often it probes
/// (Linux gives up after 9 unanswered probes: a vanished Atari is noticed
/// after about four minutes, even while the session waits on a packet).
const KEEPALIVE_TIME: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// Turns on TCP keepalive, so a peer that vanished without a FIN or RST
/// (power cut, Wi-Fi gone) is noticed by the kernel.
pub(crate) fn enable_keepalive(stream: &TcpStream) -> std::io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_TIME)
        .with_interval(KEEPALIVE_INTERVAL);
    socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

/// What the accept loop may know about a session's socket, to pick the
/// session to close when the server is full.
#[derive(Debug)]
pub(crate) struct Activity(Mutex<ActivityState>);

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    last_heard: Instant,
    awaiting_command: bool,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity(Mutex::new(ActivityState {
            last_heard: Instant::now(),
            awaiting_command: true,
        })))
    }

    /// How long the session has waited for its client, or `None` while it
    /// is busy answering a request.
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        let state = *self.lock();
        state.awaiting_command.then(|| state.last_heard.elapsed())
    }

    /// Marks the session as busy with a request (or waiting again).
    #[cfg(test)]
    pub(crate) fn set_awaiting_command(&self, awaiting: bool) {
        self.lock().awaiting_command = awaiting;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A decoded command, or why it could not be decoded.
pub(crate) type Decoded = Result<Command, CommandError>;

/// The socket of one client.
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: BytesMut,
    decoder: CommandDecoder,
    timing: Timing,
    activity: Arc<Activity>,
    /// When the peer last sent a byte or took a whole packet (at first:
    /// when it connected).
    last_heard: Instant,
    /// When the first byte of the command in `buffer` arrived.
    command_started: Option<Instant>,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        max_command_len: usize,
        timing: Timing,
        activity: Arc<Activity>,
    ) -> Connection {
        Connection {
            stream,
            buffer: BytesMut::with_capacity(64),
            decoder: CommandDecoder::with_max_length(max_command_len),
            timing,
            last_heard: Instant::now(),
            activity,
            command_started: None,
        }
    }

    fn heard_now(&mut self) {
        self.last_heard = Instant::now();
        self.activity.lock().last_heard = self.last_heard;
    }

    /// The next command, reading as much as it takes. `None` when the
    /// client closed, sent nothing for the idle timeout, left a command
    /// unfinished for the command timeout, or `shutdown` fired.
    ///
    /// Both clocks are deadlines fixed by bytes received: the idle flush
    /// of a bare word does not move them, so a half-sent command cannot
    /// keep a session open.
    pub(crate) async fn read_command(
        &mut self,
        shutdown: &CancellationToken,
    ) -> std::io::Result<Option<Decoded>> {
        self.activity.lock().awaiting_command = true;
        let read = self.read_until_command(shutdown).await;
        self.activity.lock().awaiting_command = false;
        read
    }

    async fn read_until_command(
        &mut self,
        shutdown: &CancellationToken,
    ) -> std::io::Result<Option<Decoded>> {
        loop {
            if let Some(decoded) = self.decoder.decode(&mut self.buffer).transpose() {
                return Ok(Some(self.completed(decoded)));
            }
            let waiting = !self.buffer.is_empty();
            let idle_deadline = self.last_heard + self.timing.idle_timeout;
            let command_deadline = self
                .command_started
                .filter(|_| waiting)
                .map_or(idle_deadline, |started| {
                    idle_deadline.min(started + self.timing.command_timeout)
                });
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(None),
                read = self.stream.read_buf(&mut self.buffer) => {
                    if read? == 0 {
                        // The client closed: answer what it managed to send.
                        return Ok(self
                            .decoder
                            .decode_eof(&mut self.buffer)
                            .transpose()
                            .map(|decoded| self.completed(decoded)));
                    }
                    self.heard_now();
                    if !waiting {
                        self.command_started = Some(self.last_heard);
                    }
                }
                () = tokio::time::sleep(self.timing.idle_flush), if waiting => {
                    // The sender paused: a bare-word command is complete.
                    if let Some(decoded) = self.decoder.decode_idle(&mut self.buffer).transpose() {
                        return Ok(Some(self.completed(decoded)));
                    }
                }
                () = tokio::time::sleep_until(command_deadline) => {
                    if waiting && command_deadline < idle_deadline {
                        info!(bytes = self.buffer.len(), "closing a session whose command never ended");
                    } else {
                        info!("closing idle session");
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Bookkeeping once a command is decoded: bytes left over are the start
    /// of the next one, whose clock starts now.
    fn completed(&mut self, decoded: Decoded) -> Decoded {
        self.command_started = (!self.buffer.is_empty()).then(Instant::now);
        decoded
    }

    /// Writes one whole packet, or fails if the client stops reading for
    /// the idle timeout. A packet taken whole counts as hearing from the
    /// client: the idle clock starts again while the Atari shows it.
    pub(crate) async fn write_packet(&mut self, packet: &[u8]) -> std::io::Result<()> {
        let write = self.stream.write_all(packet);
        match tokio::time::timeout(self.timing.idle_timeout, write).await {
            Ok(result) => {
                result?;
                self.heard_now();
                Ok(())
            }
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client stopped reading",
            )),
        }
    }

    /// Answers an HTTP request line with 403 and closes the socket.
    pub(crate) async fn refuse_http(&mut self) -> std::io::Result<()> {
        self.write_packet(HTTP_FORBIDDEN).await?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}
