//! A client that talks like an Atari: writes bare commands and reads each
//! packet in the chunk sizes the real client uses. For tests, load tools
//! and `yail` subcommands.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use yail_proto::{DecodeError, Packet};

/// The largest read the Atari client makes (4 KiB screen pages).
const CHUNK: usize = 4096;

/// Why a client exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server sent bytes that are not a packet.
    #[error("not a packet: {0}")]
    Decode(#[from] DecodeError),
    /// The server closed the connection before a whole packet arrived.
    #[error("connection closed after {0} bytes of a packet")]
    Closed(usize),
    /// No whole packet within the timeout.
    #[error("no packet within {0:?}")]
    Timeout(Duration),
}

/// A connection to a YAIL server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    timeout: Duration,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buffer: Vec::new(),
            timeout: Duration::from_secs(60),
        })
    }

    /// How long [`read_packet`](Self::read_packet) waits.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Writes raw bytes, as one `network_write` of the Atari would.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        self.stream.write_all(bytes.as_ref()).await
    }

    /// Reads one packet.
    pub async fn read_packet(&mut self) -> Result<Packet, ClientError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.read_packet_inner())
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    async fn read_packet_inner(&mut self) -> Result<Packet, ClientError> {
        loop {
            match Packet::parse(&self.buffer) {
                Ok((packet, used)) => {
                    self.buffer.drain(..used);
                    return Ok(packet);
                }
                Err(DecodeError::Incomplete { needed }) => {
                    let want = needed.clamp(1, CHUNK);
                    let start = self.buffer.len();
                    self.buffer.resize(start + want, 0);
                    let n = self.stream.read(&mut self.buffer[start..]).await?;
                    self.buffer.truncate(start + n);
                    if n == 0 {
                        return Err(ClientError::Closed(start));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends `command` and reads the packet that answers it.
    pub async fn request(&mut self, command: &str) -> Result<Packet, ClientError> {
        self.send(command).await?;
        self.read_packet().await
    }

    /// Reads whatever the server sends until it closes the connection.
    pub async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut rest = std::mem::take(&mut self.buffer);
        self.stream.read_to_end(&mut rest).await?;
        Ok(rest)
    }
}
