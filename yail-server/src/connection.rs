//! One client socket: bytes in, commands out; packets in, bytes out.
//!
//! This is the I/O half of a session (in the spirit of mini-redis's
//! `Connection`): it owns the socket, the read buffer and the command
//! decoder, and knows the protocol's timing rules. What a command *means*
//! is the session's business (`session.rs`).

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
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
}

/// A decoded command, or why it could not be decoded.
pub(crate) type Decoded = Result<Command, CommandError>;

/// The socket of one client.
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: BytesMut,
    decoder: CommandDecoder,
    timing: Timing,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream, max_command_len: usize, timing: Timing) -> Connection {
        Connection {
            stream,
            buffer: BytesMut::with_capacity(64),
            decoder: CommandDecoder::with_max_length(max_command_len),
            timing,
        }
    }

    /// The next command, reading as much as it takes. `None` when the
    /// client closed, went quiet for the idle timeout, or `shutdown` fired.
    pub(crate) async fn read_command(
        &mut self,
        shutdown: &CancellationToken,
    ) -> std::io::Result<Option<Decoded>> {
        loop {
            if let Some(decoded) = self.decoder.decode(&mut self.buffer).transpose() {
                return Ok(Some(decoded));
            }
            let waiting = !self.buffer.is_empty();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(None),
                read = self.stream.read_buf(&mut self.buffer) => {
                    if read? == 0 {
                        // The client closed: answer what it managed to send.
                        return Ok(self.decoder.decode_eof(&mut self.buffer).transpose());
                    }
                }
                () = tokio::time::sleep(self.timing.idle_flush), if waiting => {
                    // The sender paused: a bare-word command is complete.
                    if let Some(decoded) = self.decoder.decode_idle(&mut self.buffer).transpose() {
                        return Ok(Some(decoded));
                    }
                }
                () = tokio::time::sleep(self.timing.idle_timeout) => {
                    info!("closing idle session");
                    return Ok(None);
                }
            }
        }
    }

    /// Writes one whole packet, or fails if the client stops reading for
    /// the idle timeout.
    pub(crate) async fn write_packet(&mut self, packet: &[u8]) -> std::io::Result<()> {
        let write = self.stream.write_all(packet);
        match tokio::time::timeout(self.timing.idle_timeout, write).await {
            Ok(result) => result,
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
