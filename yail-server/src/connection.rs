//! One client socket: bytes in, commands out; packets in, bytes out.
//!
//! This is the I/O half of a session (in the spirit of mini-redis's
//! `Connection`): it owns the socket, the read buffer and the command
//! decoder, and knows the protocol's timing rules. What a command *means*
//! is the session's business (`session.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use yail_proto::{Command, CommandDecoder, CommandError};

use crate::download_clock::DownloadClock;
use crate::sync::lock;

/// What the reply to an HTTP request line says before the connection closes.
pub(crate) const HTTP_FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nNot Allowed";

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

/// A session's socket as the accept loop sees it: how long the session has
/// waited for its client, and the one thing the accept loop may do to it,
/// closing it to make room when the server is full.
///
/// The session's reads happen under the same lock as the accept loop's
/// check (see [`Liveness::evict_if_idle`]), so a session is closed only at
/// an instant when it holds nothing of a command: none received into its
/// buffer, none unread in the socket, no request being answered.
#[derive(Debug)]
pub(crate) struct Liveness {
    stream: TcpStream,
    state: Mutex<LivenessState>,
    /// How long the request in flight has waited on a download.
    downloads: Arc<DownloadClock>,
}

#[derive(Debug, Clone, Copy)]
struct LivenessState {
    last_heard: Instant,
    /// The session is waiting for its next command (not answering one).
    awaiting_command: bool,
    /// Bytes of a command were received and not yet answered.
    holds_bytes: bool,
    /// The accept loop closed this session to make room.
    evicted: bool,
}

impl Liveness {
    pub(crate) fn new(stream: TcpStream) -> Arc<Liveness> {
        Arc::new(Liveness {
            stream,
            state: Mutex::new(LivenessState {
                last_heard: Instant::now(),
                awaiting_command: true,
                holds_bytes: false,
                evicted: false,
            }),
            downloads: Arc::default(),
        })
    }

    /// How long the session has waited for its client, or `None` while it
    /// is busy with a command (answering one, or holding part of one).
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        let state = *self.lock();
        (state.awaiting_command && !state.holds_bytes && !state.evicted)
            .then(|| state.last_heard.elapsed())
    }

    /// Closes the session if it is idle: waiting for a command, with no
    /// byte of one received or unread in the socket. Its sending side is
    /// shut at once, so the client sees the end of the stream before any
    /// reply it could be waiting for, and a command it sends afterwards was
    /// never taken (it can connect again and repeat it). `false` if the
    /// session has a command in flight and must be spared.
    pub(crate) fn evict_if_idle(&self) -> bool {
        let mut state = self.lock();
        if !state.awaiting_command || state.holds_bytes || state.evicted || self.has_unread_bytes()
        {
            return false;
        }
        state.evicted = true;
        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Write);
        true
    }

    /// How long the session's request has waited on a download, if it is
    /// answering one that waits on a download now.
    pub(crate) fn download_wait(&self) -> Option<Duration> {
        let state = *self.lock();
        if state.awaiting_command || state.evicted {
            return None;
        }
        self.downloads.waiting_for()
    }

    /// Closes the session if its request has waited on a download for at
    /// least `bound`: a trickling host must not hold a slot of a full
    /// server for the whole fetch timeout. Unlike an idle session's, its
    /// client has a command in flight, so the socket stays open: the
    /// session drops the download and answers the command with an error
    /// packet ([`Connection::is_evicted`]), then ends.
    pub(crate) fn evict_if_downloading(&self, bound: Duration) -> bool {
        let mut state = self.lock();
        let waited = self.downloads.waiting_for();
        if state.awaiting_command || state.evicted || waited.is_none_or(|w| w < bound) {
            return false;
        }
        state.evicted = true;
        true
    }

    /// Whether the client's bytes wait in the socket, not yet read by the
    /// session (its task not yet scheduled). The socket does not block.
    pub(crate) fn has_unread_bytes(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::uninit()];
        matches!(socket2::SockRef::from(&self.stream).peek(&mut byte), Ok(n) if n > 0)
    }

    /// The socket back, for a connection that was never admitted.
    pub(crate) fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// The clock of the session's downloads.
    #[cfg(test)]
    pub(crate) fn downloads(&self) -> &Arc<DownloadClock> {
        &self.downloads
    }

    /// Marks the session as busy with a request (or waiting again).
    #[cfg(test)]
    pub(crate) fn set_awaiting_command(&self, awaiting: bool) {
        self.lock().awaiting_command = awaiting;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LivenessState> {
        lock(&self.state)
    }
}

/// A decoded command, or why it could not be decoded.
pub(crate) type Decoded = Result<Command, CommandError>;

/// Why a session ended.
#[derive(Debug)]
pub(crate) enum EndReason {
    /// The client closed the connection.
    ClientClosed,
    /// The client said `quit`.
    Quit,
    /// The client sent nothing for the idle timeout.
    Idle(Duration),
    /// A command was not complete this long after its first byte.
    CommandUnfinished(Duration),
    /// The server was full and this session had waited longest for its
    /// client: closed to make room.
    Evicted,
    /// The server is stopping.
    Shutdown,
    /// An HTTP request line on the YAIL port, answered with 403.
    Http,
    /// Reading or writing failed (the client reset the connection, or
    /// stopped reading a packet for the idle timeout).
    Io(std::io::Error),
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::ClientClosed => f.write_str("client closed the connection"),
            EndReason::Quit => f.write_str("client quit"),
            EndReason::Idle(after) => write!(f, "idle for {} s", after.as_secs()),
            EndReason::CommandUnfinished(after) => {
                write!(f, "command unfinished after {} s", after.as_secs())
            }
            EndReason::Evicted => f.write_str("closed to make room on a full server"),
            EndReason::Shutdown => f.write_str("server stopping"),
            EndReason::Http => f.write_str("HTTP request refused"),
            EndReason::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// The socket of one client.
pub(crate) struct Connection {
    buffer: BytesMut,
    decoder: CommandDecoder,
    timing: Timing,
    liveness: Arc<Liveness>,
    /// When the peer last sent a byte or took a whole packet (at first:
    /// when it connected).
    last_heard: Instant,
    /// When the first byte of the command in `buffer` arrived.
    command_started: Option<Instant>,
}

impl Connection {
    /// A connection on the socket `liveness` holds.
    pub(crate) fn new(
        max_command_len: usize,
        timing: Timing,
        liveness: Arc<Liveness>,
    ) -> Connection {
        Connection {
            buffer: BytesMut::with_capacity(64),
            decoder: CommandDecoder::with_max_length(max_command_len),
            timing,
            last_heard: Instant::now(),
            liveness,
            command_started: None,
        }
    }

    /// The clock a request's downloads start ([`crate::download_clock`]).
    pub(crate) fn download_clock(&self) -> Arc<DownloadClock> {
        Arc::clone(&self.liveness.downloads)
    }

    /// Whether the accept loop closed this session to make room (its
    /// request was waiting on a slow download, or it was idle).
    pub(crate) fn is_evicted(&self) -> bool {
        self.liveness.lock().evicted
    }

    fn heard_now(&mut self) {
        self.last_heard = Instant::now();
        self.liveness.lock().last_heard = self.last_heard;
    }

    /// Moves what the socket holds into the buffer. This happens under the
    /// lock the accept loop's eviction check takes, so bytes are either
    /// still in the socket (where the check sees them) or in the buffer
    /// and marked, never in between.
    fn receive(&mut self) -> std::io::Result<Received> {
        let mut state = self.liveness.lock();
        if state.evicted {
            return Ok(Received::Evicted);
        }
        match self.liveness.stream.try_read_buf(&mut self.buffer) {
            Ok(0) => Ok(Received::Closed),
            Ok(_) => {
                self.last_heard = Instant::now();
                state.last_heard = self.last_heard;
                state.holds_bytes = true;
                Ok(Received::Bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Received::Nothing),
            Err(e) => Err(e),
        }
    }

    /// The next command, reading as much as it takes, or why there is none:
    /// the client closed, sent nothing for the idle timeout, left a command
    /// unfinished for the command timeout, the session was closed to make
    /// room, `shutdown` fired, or reading failed.
    ///
    /// Both clocks are deadlines fixed by bytes received: the idle flush
    /// of a bare word does not move them, so a half-sent command cannot
    /// keep a session open.
    pub(crate) async fn read_command(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Decoded, EndReason> {
        {
            let mut state = self.liveness.lock();
            if state.evicted {
                return Err(EndReason::Evicted);
            }
            state.awaiting_command = true;
            // Commands sent in one write: the next one is already here.
            state.holds_bytes = !self.buffer.is_empty();
        }
        let read = self.read_until_command(shutdown).await;
        self.liveness.lock().awaiting_command = false;
        read
    }

    async fn read_until_command(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Decoded, EndReason> {
        loop {
            if let Some(decoded) = self.decoder.decode(&mut self.buffer).transpose() {
                return Ok(self.completed(decoded));
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
                () = shutdown.cancelled() => return Err(EndReason::Shutdown),
                ready = self.liveness.stream.readable() => {
                    ready.map_err(EndReason::Io)?;
                    match self.receive().map_err(EndReason::Io)? {
                        Received::Bytes => {
                            if !waiting {
                                self.command_started = Some(self.last_heard);
                            }
                        }
                        Received::Nothing => {}
                        Received::Evicted => return Err(EndReason::Evicted),
                        Received::Closed => {
                            // The client closed: answer what it managed to send.
                            return match self.decoder.decode_eof(&mut self.buffer).transpose() {
                                Some(decoded) => Ok(self.completed(decoded)),
                                None => Err(EndReason::ClientClosed),
                            };
                        }
                    }
                }
                () = tokio::time::sleep(self.timing.idle_flush), if waiting => {
                    // The sender paused: a bare-word command is complete.
                    if let Some(decoded) = self.decoder.decode_idle(&mut self.buffer).transpose() {
                        return Ok(self.completed(decoded));
                    }
                }
                () = tokio::time::sleep_until(command_deadline) => {
                    return Err(if waiting && command_deadline < idle_deadline {
                        EndReason::CommandUnfinished(self.timing.command_timeout)
                    } else {
                        EndReason::Idle(self.timing.idle_timeout)
                    });
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
        let write = write_all(&self.liveness.stream, packet);
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
        let _ = socket2::SockRef::from(&self.liveness.stream).shutdown(std::net::Shutdown::Write);
        Ok(())
    }
}

/// What one read from the socket gave.
enum Received {
    Bytes,
    /// A spurious wake-up: nothing to read after all.
    Nothing,
    /// The client closed its side.
    Closed,
    /// The accept loop closed this session to make room.
    Evicted,
}

/// Writes all of `bytes` (the socket is shared with [`Liveness`], so it is
/// written through `&TcpStream`).
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
