//! The flags `fetch` and `load` share: which server, how long to wait, and
//! how much to accept, with the mode and dialect the clients use.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use yail_core::GfxMode;
use yail_proto::DEFAULT_PORT;
use yail_proto::client::{
    Client, ClientError, DEFAULT_MAX_PACKET_LEN, Dialect, ERROR_PACKETS_COMMAND,
};

use crate::exit::UsageError;
use crate::mode::ModeParser;
use crate::request::DialectArg;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Server address: HOST, HOST:PORT, an IPv4 address, `[IPv6]` or
    /// `[IPv6]:PORT` (the address an Atari uses, N:TCP://HOST:PORT/, works
    /// too). Without a port, the YAIL port 5556.
    #[arg(long, env = "YAIL_SERVER", value_name = "HOST[:PORT]", default_value = "127.0.0.1:5556", value_parser = parse_server, value_hint = clap::ValueHint::Hostname)]
    pub server: ServerAddr,
    /// Graphics mode to ask for: a name, a BASIC GRAPHICS number (8 9 10 11
    /// 15) or wire:N for a number exactly as sent on the wire.
    #[arg(long, value_name = "MODE", default_value = "gr8", value_parser = ModeParser)]
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
    /// Be told of errors as an Atari is: in Graphics 8 to 15 a yail-rs
    /// server draws the message into a picture. Without this flag the
    /// first write asks for error packets (`errors packets`); the Python
    /// servers answer that unknown command with text, so use this flag
    /// with them.
    #[arg(long)]
    pub atari_errors: bool,
}

/// Where a server is, as typed: a host and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The YAIL port.
    pub port: u16,
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Reads `--server`: `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT`, or a
/// bare IPv6 address; the port defaults to [`DEFAULT_PORT`]. The
/// `N:TCP://HOST:PORT/` form an Atari is told to use is accepted as well.
pub fn parse_server(text: &str) -> Result<ServerAddr, String> {
    let mut rest = text.trim();
    for prefix in ["n:tcp://", "tcp://"] {
        if rest
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        {
            rest = &rest[prefix.len()..];
            break;
        }
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(inside) = rest.strip_prefix('[') {
        let (host, after) = inside
            .split_once(']')
            .ok_or("an IPv6 address in [ ] needs its closing ]")?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{host:?} in [ ] is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("after [IPv6] only :PORT may follow")?,
            ),
        };
        (host, port)
    } else if rest.parse::<Ipv6Addr>().is_ok() {
        (rest, None)
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("the server address has no host".into());
    }
    if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
        return Err(format!(
            "{host:?} is not a host; write an IPv6 address with a port as [ADDRESS]:PORT"
        ));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '[' || c == ']') {
        return Err(format!("{host:?} is not a host name or address"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("{port:?} is not a port (1 to 65535)")),
        },
    };
    Ok(ServerAddr {
        host: host.to_owned(),
        port,
    })
}

/// Refuses a request that is a server address: `yail load HOST:PORT` and
/// `yail get HOST:PORT ...` were the old spelling, and sending the address
/// to the server as a request would only earn error packets.
pub fn check_request(request: &[String]) -> Result<(), UsageError> {
    match request.first() {
        Some(first) if first.parse::<SocketAddr>().is_ok() || first.parse::<IpAddr>().is_ok() => {
            Err(UsageError {
                kind: clap::error::ErrorKind::InvalidValue,
                message: format!(
                    "{first:?} is a server address, not a request: use --server {first}"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// How long a client whose write failed looks for the server's reason.
const REFUSAL_WAIT: Duration = Duration::from_secs(1);

/// After a failed write: what the server sent before closing. A server
/// refusing a client (too many connections) says why and closes, which can
/// make the client's next write fail before the reason is read; a web
/// server answers `errors packets` (a whole line) at once and closes.
pub enum AfterFailedWrite {
    /// The server's error packet: its message.
    Refusal(String),
    /// Bytes that are not a packet (an HTTP reply, say): why.
    NotAPacket(ClientError),
    /// Nothing readable, or a picture.
    Nothing,
}

/// Reads, for a moment, what the server sent before a write failed.
pub async fn after_failed_write(client: &mut Client) -> AfterFailedWrite {
    client.set_timeout(REFUSAL_WAIT);
    match client.read_packet().await {
        Ok(packet) => match packet.error_message() {
            Some(message) => AfterFailedWrite::Refusal(message.to_owned()),
            None => AfterFailedWrite::Nothing,
        },
        Err(e) if e.is_protocol_violation() => AfterFailedWrite::NotAPacket(e),
        Err(_) => AfterFailedWrite::Nothing,
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
    /// The server's addresses, IPv4 first: a server started with its
    /// defaults listens on IPv4 only, while `localhost` may name `::1` first.
    pub fn resolve(&self) -> anyhow::Result<Vec<SocketAddr>> {
        let server = &self.server;
        let mut addrs: Vec<SocketAddr> = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {server}"))?
            .collect();
        addrs.sort_by_key(SocketAddr::is_ipv6);
        anyhow::ensure!(!addrs.is_empty(), "{server} has no address");
        Ok(addrs)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect.into()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// What the client writes before its `gfx`: the request for error
    /// packets, unless it is told of errors as an Atari is.
    pub fn preamble(&self) -> Option<&'static [u8]> {
        (!self.atari_errors).then_some(ERROR_PACKETS_COMMAND)
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
    use proptest::prelude::*;

    fn server(text: &str) -> (String, u16) {
        let parsed = parse_server(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (parsed.host, parsed.port)
    }

    #[test]
    fn a_server_without_a_port_gets_the_yail_port() {
        let yail = DEFAULT_PORT;
        assert_eq!(server("127.0.0.1"), ("127.0.0.1".into(), yail));
        assert_eq!(server("atari.local"), ("atari.local".into(), yail));
        assert_eq!(server("[::1]"), ("::1".into(), yail));
        assert_eq!(server("::1"), ("::1".into(), yail));
        assert_eq!(server("127.0.0.1:5601"), ("127.0.0.1".into(), 5601));
        assert_eq!(server("[2001:db8::5]:5601"), ("2001:db8::5".into(), 5601));
        assert_eq!(server("N:TCP://10.0.0.5:5556/"), ("10.0.0.5".into(), 5556));
        assert_eq!(server("n:tcp://pi/"), ("pi".into(), yail));
    }

    #[test]
    fn a_malformed_server_address_is_refused() {
        for text in [
            "",
            ":5556",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "127.0.0.1:http",
            "[::1",
            "[::1]5556",
            "[atari]:5556",
            "2001:db8::5::1:5556",
            "a host",
        ] {
            assert!(parse_server(text).is_err(), "{text:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn every_socket_address_reads_back_as_itself(addr in any::<SocketAddr>(), port in 1u16..) {
            let addr = SocketAddr::new(addr.ip(), port);
            let parsed = parse_server(&addr.to_string()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(parsed.host.parse::<IpAddr>().ok(), Some(addr.ip()));
            prop_assert_eq!(parsed.port, port);
            prop_assert_eq!(parsed.to_string(), SocketAddr::new(addr.ip(), port).to_string());
        }

        #[test]
        fn any_text_is_read_or_refused_without_panicking(text in "\\PC{0,40}") {
            let _ = parse_server(&text);
        }
    }

    #[test]
    fn server_text_loses_its_control_characters() {
        assert_eq!(
            printable("no \x1b[2Jimages\n"),
            "no \u{FFFD}[2Jimages\u{FFFD}"
        );
        assert_eq!(printable("plain: \"cats\""), "plain: \"cats\"");
    }
}
