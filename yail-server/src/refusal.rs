//! A refused connection is told why in the one packet it reads.
//!
//! An Atari writes its first command a moment after connecting: `gfx N`,
//! then its request. A server that answered and closed at once would make
//! that write fail, and the client would show its own "Unable to write
//! request" instead of the reason. So a refused connection is read first,
//! for a short, bounded time, up to its first request; then it gets the
//! refusal (drawn into a picture of the mode it chose where the client
//! hides an error packet's text, see `delivery.rs`) and is closed. It
//! never holds a session's place, and at most [`MAX_AT_ONCE`] refusals
//! are served at once: beyond that a refused connection gets the error
//! packet if its socket takes it at once, and is closed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};
use yail_core::Settings;
use yail_proto::{Command, CommandDecoder, ErrorDelivery, GfxMode, Packet};

use crate::connection::HTTP_FORBIDDEN;
use crate::delivery::message_answer;
use crate::log_budget::LogBudget;
use crate::sync::lock;

/// How long a refused client has, from its connection, to write its
/// request. The clients write theirs at once; `yail load --hold-idle`
/// waits 3 s for a refusal of a connection that sends only `gfx`.
pub(crate) const REQUEST_WAIT: Duration = Duration::from_millis(2500);
/// How long, once `gfx` has arrived, the request that follows it may take.
const AFTER_GFX_WAIT: Duration = Duration::from_secs(1);
/// Bytes read from a refused client at most, before and after the answer.
const MAX_READ: usize = 4096;
/// How long writing the refusal may take.
const WRITE_WAIT: Duration = Duration::from_secs(2);
/// How long the refusal's connection is read after the answer, until the
/// client closes: closing a socket with unread bytes in it resets the
/// connection, and a reset can destroy the answer before the client has
/// read it.
const LINGER: Duration = Duration::from_millis(500);
/// Refusals served at once.
pub(crate) const MAX_AT_ONCE: usize = 32;
/// Refusal warnings logged at once, then one a second (with a count of
/// those left out): a client connecting in a loop must not fill the log.
const LOG_BURST: u32 = 5;

/// Refusals being served, and the log lines they may write.
#[derive(Clone)]
pub(crate) struct Refusals {
    places: Arc<Semaphore>,
    log: Arc<Mutex<LogBudget>>,
    idle_flush: Duration,
    random_modes: Arc<[GfxMode]>,
}

impl Refusals {
    /// `idle_flush`: the pause that completes a bare-word command;
    /// `random_modes`: what "random" picks from.
    pub(crate) fn new(idle_flush: Duration, random_modes: &[GfxMode]) -> Refusals {
        Refusals {
            places: Arc::new(Semaphore::new(MAX_AT_ONCE)),
            log: Arc::new(Mutex::new(LogBudget::new(
                LOG_BURST,
                Duration::from_secs(1),
            ))),
            idle_flush,
            random_modes: random_modes.into(),
        }
    }

    /// Tells the client at `peer` on `stream` `message` and closes, in a
    /// task of `tracker`'s (stopped early by `stop`), or at once when
    /// [`MAX_AT_ONCE`] refusals are being served.
    pub(crate) fn refuse(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        message: &'static str,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) {
        if let Some(unlogged) = lock(&self.log).take() {
            warn!(%peer, reason = message, unlogged, "refusing a connection");
        }
        let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
            debug!(%peer, "too many refusals at once; closing without reading");
            // Whatever the socket takes without waiting; then it is closed.
            let _ = stream.try_write(&Packet::error(GfxMode::Gr8, message).to_bytes());
            return;
        };
        let refusals = self.clone();
        tracker.spawn(async move {
            refusals.serve(stream, message, &stop).await;
            drop(place);
        });
    }

    async fn serve(&self, mut stream: TcpStream, message: &str, stop: &CancellationToken) {
        let heard = self.read_first_request(&mut stream, stop).await;
        let answer = match heard {
            Heard::Http => HTTP_FORBIDDEN.to_vec(),
            Heard::Gone => return,
            // Every Atari names its mode first: without one, the plain
            // error packet that anything reading packets understands.
            Heard::Atari { mode: None, .. } => Packet::error(GfxMode::Gr8, message).to_bytes(),
            Heard::Atari {
                mode: Some(mode),
                errors,
            } => {
                let mut settings = Settings::new(mode);
                settings.random_modes = self.random_modes.to_vec();
                message_answer(message, mode, settings.resolve_mode(), errors, None).bytes
            }
        };
        let write = async {
            stream.write_all(&answer).await?;
            stream.shutdown().await
        };
        if !matches!(tokio::time::timeout(WRITE_WAIT, write).await, Ok(Ok(()))) {
            return;
        }
        // Read until the client closes (or a moment passes), so that the
        // close does not reset the connection under the answer.
        let mut sink = [0u8; 512];
        let mut read = 0;
        let deadline = Instant::now() + LINGER;
        while read < MAX_READ {
            match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
                Ok(Ok(n)) if n > 0 => read += n,
                _ => break,
            }
        }
    }

    /// Reads the client's commands up to its first request, within
    /// [`REQUEST_WAIT`] (and [`AFTER_GFX_WAIT`] after `gfx`) and
    /// [`MAX_READ`] bytes: what it said of its mode and its errors.
    async fn read_first_request(&self, stream: &mut TcpStream, stop: &CancellationToken) -> Heard {
        let mut decoder = CommandDecoder::with_max_length(MAX_READ);
        let mut buffer = BytesMut::with_capacity(256);
        let mut said = Said::default();
        let mut deadline = Instant::now() + REQUEST_WAIT;
        let mut read = 0;
        loop {
            while let Some(decoded) = decoder.decode(&mut buffer).transpose() {
                if let Some(heard) = said.take(decoded) {
                    return heard;
                }
                if said.mode.is_some() {
                    deadline = deadline.min(Instant::now() + AFTER_GFX_WAIT);
                }
            }
            if read >= MAX_READ {
                return said.heard();
            }
            let waiting = !buffer.is_empty();
            let mut chunk = [0u8; 512];
            let room = chunk.len().min(MAX_READ - read);
            tokio::select! {
                () = stop.cancelled() => return said.heard(),
                () = tokio::time::sleep_until(deadline) => {
                    // What has arrived of a bare-word request still counts.
                    if let Some(heard) = decoder.decode_eof(&mut buffer).transpose().and_then(|d| said.take(d)) {
                        return heard;
                    }
                    return said.heard();
                }
                () = tokio::time::sleep(self.idle_flush), if waiting => {
                    if let Some(heard) = decoder.decode_idle(&mut buffer).transpose().and_then(|d| said.take(d)) {
                        return heard;
                    }
                }
                got = stream.read(&mut chunk[..room]) => match got {
                    Ok(0) | Err(_) => return Heard::Gone,
                    Ok(n) => {
                        read += n;
                        buffer.extend_from_slice(&chunk[..n]);
                    }
                },
            }
        }
    }
}

/// What a refused client said before its request.
#[derive(Default)]
struct Said {
    mode: Option<GfxMode>,
    errors: ErrorDelivery,
}

/// What a refused client turned out to be.
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    /// A YAIL client (or something that did not say): its mode, if it
    /// named one, and how it wants errors.
    Atari {
        mode: Option<GfxMode>,
        errors: ErrorDelivery,
    },
    /// A browser or a scanner.
    Http,
    /// It closed its side, or reading failed: nobody to answer.
    Gone,
}

impl Said {
    /// Notes a command; `Some` once the client has made its request (any
    /// command but `gfx` and `errors`, a malformed one included).
    fn take(&mut self, decoded: Result<Command, yail_proto::CommandError>) -> Option<Heard> {
        match decoded {
            Ok(Command::Gfx(mode)) => self.mode = Some(mode),
            Ok(Command::Errors(errors)) => self.errors = errors,
            Err(e) if e.expects_no_reply() => {}
            Ok(Command::Http(_)) => return Some(Heard::Http),
            Ok(_) | Err(_) => return Some(self.heard()),
        }
        None
    }

    /// What the client said so far, taken as all it will say.
    fn heard(&self) -> Heard {
        Heard::Atari {
            mode: self.mode,
            errors: self.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// The connections beyond [`MAX_AT_ONCE`] are told and closed at once,
    /// with the clock stopped; the others are read first, and each place
    /// comes back when its refusal is done.
    #[tokio::test(start_paused = true)]
    async fn beyond_the_cap_a_refused_connection_is_closed_at_once() {
        let refusals = Refusals::new(Duration::from_millis(150), &[GfxMode::Gr8]);
        let tracker = TaskTracker::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for _ in 0..MAX_AT_ONCE + 3 {
            let client = TcpStream::connect(addr).await.unwrap();
            let (server_side, peer) = listener.accept().await.unwrap();
            refusals.refuse(
                server_side,
                peer,
                "busy",
                &tracker,
                CancellationToken::new(),
            );
            clients.push(client);
        }
        let refusal = Packet::error(GfxMode::Gr8, "busy").to_bytes();
        for client in &mut clients[MAX_AT_ONCE..] {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, refusal);
        }
        for client in &clients[..MAX_AT_ONCE] {
            let mut byte = [0u8; 1];
            let read = client.try_read(&mut byte);
            assert!(
                matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
                "{read:?}"
            );
        }
        assert_eq!(refusals.places.available_permits(), 0);
        tracker.close();
        tracker.wait().await;
        for client in &mut clients[..MAX_AT_ONCE] {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, refusal);
        }
        assert_eq!(refusals.places.available_permits(), MAX_AT_ONCE);
    }

    fn commands(text: &str) -> Option<Heard> {
        let mut decoder = CommandDecoder::new();
        let mut buffer = BytesMut::from(text.as_bytes());
        let mut said = Said::default();
        while let Some(decoded) = decoder.decode_eof(&mut buffer).transpose() {
            if let Some(heard) = said.take(decoded) {
                return Some(heard);
            }
        }
        None
    }

    #[test]
    fn the_first_request_ends_what_a_refused_client_is_heard_saying() {
        let atari = |mode, errors| Some(Heard::Atari { mode, errors });
        let auto = ErrorDelivery::Auto;
        assert_eq!(commands("gfx 4 files"), atari(Some(GfxMode::Gr9), auto));
        assert_eq!(
            commands("errors packets\ngfx 10 search \"cats\""),
            atari(Some(GfxMode::Gr10), ErrorDelivery::Packets)
        );
        assert_eq!(commands("gfx 17"), None, "no request yet");
        // A refused mode is no mode.
        assert_eq!(commands("gfx 99 next"), atari(None, auto));
        assert_eq!(commands("GET / HTTP/1.1\r\n"), Some(Heard::Http));
        assert_eq!(commands("\u{1}garbage"), atari(None, auto));
    }
}
