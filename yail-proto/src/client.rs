//! A client that talks like an Atari: it writes bare commands and reads each
//! packet in the chunk sizes the real client uses. Used by the `yail` tool
//! and the integration tests.
//!
//! What the client holds is bounded: a server declaring a block larger than
//! [`Client::max_packet_len`] is refused as soon as its length field
//! arrives, and every wait has a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, ToSocketAddrs};

use crate::{DecodeError, Packet};

/// The largest read the Atari client makes (4 KiB screen pages).
const CHUNK: usize = 4096;

/// The default bound on one packet: the largest image packet (VBXE with a
/// full palette) is 77 583 bytes, so 1 MiB leaves room for servers with
/// longer error texts while refusing anything absurd.
pub const DEFAULT_MAX_PACKET_LEN: usize = 1 << 20;

/// The default wait for a packet (a generated picture may take a while).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The bytes of `errors packets`, ended by a line end so that the next
/// write cannot run into it.
pub const ERROR_PACKETS_COMMAND: &[u8] = b"errors packets\n";

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
    /// The server declared a packet longer than the client accepts.
    #[error("the server declared a packet of at least {declared} bytes (limit {limit})")]
    TooLarge {
        /// Lower bound on the packet's length from its length fields.
        declared: u64,
        /// [`Client::max_packet_len`].
        limit: usize,
    },
}

impl ClientError {
    /// True when the server broke the protocol (bytes that are not a
    /// packet, or a packet over the limit), as opposed to the network
    /// failing or the server being slow.
    pub fn is_protocol_violation(&self) -> bool {
        matches!(self, ClientError::Decode(_) | ClientError::TooLarge { .. })
    }

    /// A short stable name for the kind of failure, for reports:
    /// `io`, `protocol`, `closed`, `timeout` or `too-large`.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Io(_) => "io",
            ClientError::Decode(_) => "protocol",
            ClientError::Closed(_) => "closed",
            ClientError::Timeout(_) => "timeout",
            ClientError::TooLarge { .. } => "too-large",
        }
    }
}

/// How a client generation writes its `gfx` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// The legacy client (v1.5.x): exactly six bytes of `"gfx %d "`, so
    /// two-digit modes lose the trailing space (`gfx 2 `, `gfx 17`).
    #[default]
    Legacy,
    /// The current client (v2.x): `gfx N ` with its trailing space.
    Current,
}

impl Dialect {
    /// The bytes this client generation writes to choose mode `value`.
    ///
    /// ```
    /// use yail_proto::client::Dialect;
    /// assert_eq!(Dialect::Legacy.gfx_command(2), b"gfx 2 ");
    /// assert_eq!(Dialect::Legacy.gfx_command(17), b"gfx 17");
    /// assert_eq!(Dialect::Current.gfx_command(17), b"gfx 17 ");
    /// ```
    pub fn gfx_command(self, value: u8) -> Vec<u8> {
        let mut text = format!("gfx {value} ").into_bytes();
        if self == Dialect::Legacy {
            text.truncate(6);
        }
        text
    }
}

/// A connection to a YAIL server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    timeout: Duration,
    max_packet_len: usize,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Client> {
        Client::from_stream(TcpStream::connect(addr).await?)
    }

    /// Connects to `addr` from the local address `source` (port 0 picks
    /// any port), e.g. to spread load-test clients over 127.x addresses.
    pub async fn connect_from(addr: SocketAddr, source: SocketAddr) -> std::io::Result<Client> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(source)?;
        Client::from_stream(socket.connect(addr).await?)
    }

    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream) -> std::io::Result<Client> {
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buffer: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_packet_len: DEFAULT_MAX_PACKET_LEN,
        })
    }

    /// How long [`read_packet`](Self::read_packet) waits.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The largest packet accepted ([`DEFAULT_MAX_PACKET_LEN`] unless set).
    pub fn max_packet_len(&self) -> usize {
        self.max_packet_len
    }

    /// Changes the largest packet accepted.
    pub fn set_max_packet_len(&mut self, max: usize) {
        self.max_packet_len = max;
    }

    /// Writes raw bytes, as one `network_write` of the Atari would.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        self.stream.write_all(bytes.as_ref()).await
    }

    /// Asks the server for error packets in every mode (`errors packets`),
    /// where an Atari would get some errors drawn into a picture. A program
    /// that must tell a picture from an error sends this first; it gets no
    /// reply. Servers that do not know the command answer it with an error
    /// packet (or, the Python servers, with text), so send it only to a
    /// server that does.
    pub async fn ask_for_error_packets(&mut self) -> std::io::Result<()> {
        self.send(ERROR_PACKETS_COMMAND).await
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
                    // `needed` covers the whole block whose length field has
                    // arrived, so an absurd length is caught before any of
                    // its bytes are read.
                    let declared = self.buffer.len() as u64 + needed as u64;
                    if declared > self.max_packet_len as u64 {
                        return Err(ClientError::TooLarge {
                            declared,
                            limit: self.max_packet_len,
                        });
                    }
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
    pub async fn request(&mut self, command: impl AsRef<[u8]>) -> Result<Packet, ClientError> {
        self.send(command).await?;
        self.read_packet().await
    }

    /// Reads whatever the server sends until it closes the connection (e.g.
    /// the reply to an HTTP request line), at most
    /// [`max_packet_len`](Self::max_packet_len) bytes: more is an
    /// [`InvalidData`](std::io::ErrorKind::InvalidData) error. It waits as
    /// long as the server keeps the connection open; wrap it in a timeout
    /// where that matters.
    pub async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let limit = self.max_packet_len;
        let mut rest = std::mem::take(&mut self.buffer);
        let mut chunk = [0u8; CHUNK];
        loop {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(rest);
            }
            rest.extend_from_slice(&chunk[..n]);
            if rest.len() > limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the server sent more than {limit} bytes"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GfxMode;
    use tokio::net::TcpListener;

    /// A server that writes `bytes` to the first connection, then waits.
    async fn serve_once(bytes: Vec<u8>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(&bytes).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_declared_four_gigabyte_block_is_refused_before_it_is_read() {
        // Error packet header with a block length of 0xFFFF_FFFF and no data.
        let addr = serve_once(vec![1, 4, 0, 2, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).await;
        let mut client = Client::connect(addr).await.expect("connect");
        match client.read_packet().await {
            Err(ClientError::TooLarge { declared, limit }) => {
                assert!(declared >= 0xFFFF_FFFF);
                assert_eq!(limit, DEFAULT_MAX_PACKET_LEN);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(
            client.buffer.len() < 64,
            "nothing of the block was buffered"
        );
    }

    #[tokio::test]
    async fn a_packet_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let packet = Packet::error(GfxMode::Gr8, "x".repeat(200).as_str());
        let len = packet.encoded_len();
        let addr = serve_once(packet.to_bytes()).await;
        let mut client = Client::connect(addr).await.expect("connect");
        client.set_max_packet_len(len);
        assert_eq!(client.read_packet().await.expect("packet"), packet);

        let addr = serve_once(packet.to_bytes()).await;
        let mut client = Client::connect(addr).await.expect("connect");
        client.set_max_packet_len(len - 1);
        assert!(matches!(
            client.read_packet().await,
            Err(ClientError::TooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn text_instead_of_a_packet_is_a_protocol_violation() {
        let addr = serve_once(b"OK: ACK!\r\n".to_vec()).await;
        let mut client = Client::connect(addr).await.expect("connect");
        let error = client.read_packet().await.expect_err("not a packet");
        assert!(error.is_protocol_violation(), "{error:?}");
        assert_eq!(error.kind(), "protocol");
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let addr = serve_once(Vec::new()).await;
        let mut client = Client::connect(addr).await.expect("connect");
        client.set_timeout(Duration::from_millis(50));
        assert!(matches!(
            client.read_packet().await,
            Err(ClientError::Timeout(_))
        ));
    }

    #[test]
    fn legacy_gfx_commands_are_six_bytes() {
        for value in [2u8, 4, 6, 8, 10, 16, 17, 18, 42] {
            let legacy = Dialect::Legacy.gfx_command(value);
            assert_eq!(legacy.len(), 6, "{value}");
            let current = Dialect::Current.gfx_command(value);
            assert_eq!(current, format!("gfx {value} ").into_bytes());
        }
    }
}
