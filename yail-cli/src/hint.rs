//! Advice for a person whose server did not answer as a YAIL server does:
//! the usual mistake is the admin page's port, a web server, in place of
//! the port the Atari talks to.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yail_proto::DecodeError;
use yail_proto::client::ClientError;

/// How long the web-server check waits for its connection and its answer.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// The first bytes of every HTTP/1.x response: its status line starts with
/// the protocol version, `HTTP/1.1` (RFC 9112, section 4).
const HTTP_REPLY: &[u8] = b"HTTP/";

/// An error with advice for the person reading it. `yail` prints the error
/// as usual and the advice on a line of its own after it.
#[derive(Debug, thiserror::Error)]
#[error("{advice}")]
pub struct Hinted {
    /// What to try.
    pub advice: String,
    /// What went wrong.
    #[source]
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

/// `error` with `advice` attached.
pub fn with_hint(error: anyhow::Error, advice: String) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        advice,
        error: error.into(),
    })
}

/// The advice for a server at `addr` that answers like a web server.
pub fn web_server_advice(addr: SocketAddr) -> String {
    format!(
        "{addr} answers like a web server: is it the admin page (yail-server's --admin-port, \
         5557 by default)? Atari clients and yail talk to the YAIL port, {} unless the server \
         was started with another --port",
        yail_proto::DEFAULT_PORT
    )
}

/// True when the bytes that were not a packet began an HTTP response.
pub fn is_http_reply(error: &ClientError) -> bool {
    matches!(error, ClientError::Decode(DecodeError::UnknownVersion(start)) if HTTP_REPLY.starts_with(start))
}

/// True for the failures after which it is worth asking whether `addr`
/// is a web server: nothing came back, or the connection closed unanswered.
/// (A web server waits for the end of a request line that an Atari's
/// commands never send.)
pub fn worth_probing(error: &ClientError) -> bool {
    matches!(error, ClientError::Timeout(_) | ClientError::Closed(0))
}

/// Whether `addr` is a web server, asked on a connection of its own: the
/// line `files` with CRLF is a request to a YAIL server (it answers with a
/// packet) and an invalid request line to a web server, which answers with
/// a 400 status line (RFC 9112, section 3). Bounded by [`PROBE_WAIT`];
/// anything that goes wrong counts as "no".
pub async fn answers_like_a_web_server(addr: SocketAddr) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"files\r\n").await?;
        let mut start = [0u8; HTTP_REPLY.len()];
        stream.read_exact(&mut start).await?;
        std::io::Result::Ok(start == HTTP_REPLY)
    };
    matches!(tokio::time::timeout(PROBE_WAIT, probe).await, Ok(Ok(true)))
}

/// The advice for `error` from `addr`, if it looks like a web server.
pub async fn for_client_error(addr: SocketAddr, error: &ClientError) -> Option<String> {
    let web =
        is_http_reply(error) || (worth_probing(error) && answers_like_a_web_server(addr).await);
    web.then(|| web_server_advice(addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_of_an_http_status_line_is_recognised() {
        let http = ClientError::Decode(DecodeError::UnknownVersion(*b"HTT"));
        assert!(is_http_reply(&http));
        let text = ClientError::Decode(DecodeError::UnknownVersion(*b"OK:"));
        assert!(!is_http_reply(&text));
        assert!(!is_http_reply(&ClientError::Closed(0)));
    }

    #[test]
    fn hinted_errors_keep_their_cause_for_the_exit_code() {
        let cause = anyhow::Error::new(ClientError::Decode(DecodeError::UnknownVersion(*b"HTT")))
            .context("picture 1");
        let hinted = with_hint(cause, "try the other port".into());
        assert_eq!(crate::exit::code_of(&hinted), crate::exit::PROTOCOL);
        assert!(hinted.chain().any(|c| c.is::<Hinted>()));
    }
}
