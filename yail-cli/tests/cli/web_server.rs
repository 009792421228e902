//! A tiny HTTP/1.1 server on loopback, playing the web server a person
//! points `yail` at by mistake (yail-server's admin page is one). It
//! judges the request line as HTTP/1.1 servers do and answers 400 to one
//! that is not HTTP, which is what an Atari's commands are.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest request head read before the connection is dropped.
const MAX_HEAD: usize = 8 * 1024;

/// When the server decides that a request line is not HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judging {
    /// As soon as a byte cannot continue a request line, as a parser that
    /// reads byte by byte does (hyper's, under yail-server's admin page).
    Eagerly,
    /// Only once the whole line has arrived, as a server that reads a line
    /// before parsing it does (Python's `http.server`: `readline`, then
    /// `parse_request`); until then it says nothing.
    ByLine,
}

/// How far bytes go as the start of a request line.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Valid so far, not finished.
    Incomplete,
    /// A whole, valid request line.
    Valid,
    /// Not a request line.
    Invalid,
}

/// RFC 9110, section 5.6.2: tchar, the characters of a token (a method).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Judges `bytes` as the start of a request line. RFC 9112, section 3:
/// `request-line = method SP request-target SP HTTP-version CRLF`;
/// section 2.3: `HTTP-version = "HTTP/" DIGIT "." DIGIT`; section 2.2: a
/// bare LF may end the line.
fn judge(bytes: &[u8]) -> Line {
    // 0 method, 1 request-target, 2 version, 3 the LF after CR.
    let mut part = 0;
    let mut len = 0usize;
    for &byte in bytes {
        match part {
            0 if byte == b' ' && len > 0 => (part, len) = (1, 0),
            0 if is_tchar(byte) => len += 1,
            // The request-target holds no whitespace or control characters.
            1 if byte == b' ' && len > 0 => (part, len) = (2, 0),
            1 if byte > b' ' && byte != 0x7F => len += 1,
            2 => {
                let fits = match len {
                    0..=4 => byte == b"HTTP/"[len],
                    5 | 7 => byte.is_ascii_digit(),
                    6 => byte == b'.',
                    _ => false,
                };
                match (len, byte) {
                    (8, b'\r') => part = 3,
                    (8, b'\n') => return Line::Valid,
                    _ if fits => len += 1,
                    _ => return Line::Invalid,
                }
            }
            3 if byte == b'\n' => return Line::Valid,
            _ => return Line::Invalid,
        }
    }
    Line::Incomplete
}

/// RFC 9112, section 3: "Recipients of an invalid request-line SHOULD
/// respond with either a 400 (Bad Request) error or a 301 (Moved
/// Permanently) redirect"; the connection then closes (section 9.6).
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

const PAGE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<p>admin</p>\n";

/// Starts the server on a free loopback port; it serves until the test's
/// runtime ends.
pub async fn web_server(judging: Judging) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, judging));
        }
    });
    addr
}

async fn serve(mut socket: tokio::net::TcpStream, judging: Judging) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > MAX_HEAD {
            return;
        }
        let line = match judging {
            Judging::Eagerly => judge(&head),
            Judging::ByLine => match head.iter().position(|&b| b == b'\n') {
                None => Line::Incomplete,
                Some(end) => match judge(&head[..=end]) {
                    Line::Valid => Line::Valid,
                    _ => Line::Invalid,
                },
            },
        };
        let reply = match line {
            Line::Incomplete => continue,
            Line::Invalid => BAD_REQUEST,
            // RFC 9112, section 2.1: the header section ends with an empty line.
            Line::Valid if head.windows(4).any(|w| w == b"\r\n\r\n") => PAGE,
            Line::Valid => continue,
        };
        let _ = socket.write_all(reply).await;
        return;
    }
}

#[test]
fn request_lines_are_judged_as_http_servers_judge_them() {
    assert_eq!(judge(b"GET / HTTP/1.1\r\n"), Line::Valid);
    assert_eq!(judge(b"HEAD /x HTTP/1.0\n"), Line::Valid);
    assert_eq!(judge(b"GET / HT"), Line::Incomplete);
    assert_eq!(judge(b"gfx 2 "), Line::Incomplete, "a method and a target");
    assert_eq!(judge(b"gfx 2 files"), Line::Invalid);
    assert_eq!(judge(b"files\r\n"), Line::Invalid);
    assert_eq!(judge(b"GET / HTTP/1.1 \r\n"), Line::Invalid);
    assert_eq!(judge(b"GET  / HTTP/1.1\r\n"), Line::Invalid);
}
