//! The flags `fetch` and `load` share: which server, how long to wait, and
//! how much to accept, with the mode and dialect the clients use.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use yail_core::GfxMode;
use yail_proto::client::{Client, DEFAULT_MAX_PACKET_LEN, Dialect};

use crate::exit::UsageError;
use crate::request::DialectArg;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Server address HOST:PORT.
    #[arg(long, env = "YAIL_SERVER", default_value = "127.0.0.1:5556")]
    pub server: String,
    /// Graphics mode to ask for: a name (gr8 gr9 gr10 gr11 gr15 vbxe
    /// vbxe-legacy vbxe-hr random) or a wire number (2 4 6 8 10 16 17 18 42).
    #[arg(long, default_value = "gr8")]
    pub gfx: GfxMode,
    /// Client generation to imitate: legacy (6-byte `gfx`, `gen <model>
    /// "..."`) or current.
    #[arg(long, value_enum, default_value = "legacy")]
    pub dialect: DialectArg,
    /// Model name the legacy client sends with `gen`.
    #[arg(long, default_value = "dall-e-3")]
    pub model: String,
    /// Seconds to wait for each packet.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Largest packet accepted, in bytes; a server declaring more is
    /// refused before anything of it is buffered.
    #[arg(long, default_value_t = DEFAULT_MAX_PACKET_LEN)]
    pub max_packet: usize,
}

/// Refuses a request that is a server address: `yail load HOST:PORT` and
/// `yail get HOST:PORT ...` were the old spelling, and sending the address
/// to the server as a request would only earn error packets.
pub fn check_request(request: &[String]) -> Result<(), UsageError> {
    match request.first() {
        Some(first) if first.parse::<SocketAddr>().is_ok() => Err(UsageError {
            kind: clap::error::ErrorKind::InvalidValue,
            message: format!("{first:?} is a server address, not a request: use --server {first}"),
        }),
        _ => Ok(()),
    }
}

/// `text` from a server with control characters replaced, so a hostile
/// message cannot drive the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

impl ServerArgs {
    /// The server's first address.
    pub fn resolve(&self) -> anyhow::Result<SocketAddr> {
        self.server
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {}", self.server))?
            .next()
            .with_context(|| format!("{} has no address", self.server))
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect.into()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The bytes of this client's `gfx` command.
    pub fn gfx_command(&self) -> Vec<u8> {
        self.dialect().gfx_command(self.gfx.wire())
    }

    /// Applies the timeout and packet bound to a new client.
    pub fn configure(&self, client: &mut Client) {
        client.set_timeout(self.timeout());
        client.set_max_packet_len(self.max_packet);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_loses_its_control_characters() {
        assert_eq!(
            printable("no \x1b[2Jimages\n"),
            "no \u{FFFD}[2Jimages\u{FFFD}"
        );
        assert_eq!(printable("plain: \"cats\""), "plain: \"cats\"");
    }
}
