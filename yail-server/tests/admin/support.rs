//! A YAIL server and its admin server on loopback ports, sharing one
//! state, and a minimal HTTP/1.1 client for talking to the admin server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use yail_proto::client::Client;
use yail_server::{AdminOptions, Config, Services};
use yail_state::ServerState;

/// Both servers; they stop when this is dropped.
pub struct Servers {
    pub yail: SocketAddr,
    pub admin: SocketAddr,
    pub state: ServerState,
    stop: CancellationToken,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Servers {
    pub async fn start(token: Option<&str>) -> Servers {
        Servers::start_with(AdminOptions {
            token: token.map(String::from),
            ..AdminOptions::default()
        })
        .await
    }

    pub async fn start_with(options: AdminOptions) -> Servers {
        Servers::start_configured(
            Config {
                prefetch: false,
                workers: 2,
                ..Config::default()
            },
            options,
        )
        .await
    }

    pub async fn start_configured(config: Config, options: AdminOptions) -> Servers {
        let state = ServerState::new();
        let stop = CancellationToken::new();
        let yail_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (yail, admin) = (
            yail_listener.local_addr().expect("address"),
            admin_listener.local_addr().expect("address"),
        );
        let services = Services::start(config, state.clone())
            .await
            .expect("services");
        tokio::spawn(yail_server::run(
            yail_listener,
            services.clone(),
            stop.clone().cancelled_owned(),
        ));
        let admin_server = yail_server::run_admin(
            admin_listener,
            services,
            options,
            stop.clone().cancelled_owned(),
        );
        tokio::spawn(async move { admin_server.await.expect("admin server runs") });
        Servers {
            yail,
            admin,
            state,
            stop,
        }
    }

    /// A YAIL client that chose `mode` (wire value) and asked for `files`.
    pub async fn client(&self, mode: u8) -> (Client, yail_proto::Packet) {
        let mut client = Client::connect(self.yail).await.expect("connect");
        client.set_timeout(Duration::from_secs(60));
        client.send(format!("gfx {mode} ")).await.expect("send gfx");
        let packet = client.request("files").await.expect("a picture");
        (client, packet)
    }

    pub async fn get(&self, path: &str) -> Response {
        http(self.admin, "GET", path, &[], b"").await
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request with `Connection: close`; the response must have a
/// Content-Length (every admin response but the event stream has one).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    http_from(Ipv4Addr::LOCALHOST, addr, method, path, headers, body).await
}

/// [`http`] from the loopback address `source` (any of 127.0.0.0/8), so a
/// test can play clients on different networks.
pub async fn http_from(
    source: Ipv4Addr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let exchange = async {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::new(IpAddr::V4(source), 0))
            .expect("bind a loopback source address");
        let mut stream = socket.connect(addr).await.expect("connect to admin");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        // A browser names the host it was asked for; a test may name another.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request.push_str(&format!("Host: {addr}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(120), exchange)
        .await
        .expect("admin answers in time");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = raw[split + 4..].to_vec();
    let response = Response {
        status,
        headers,
        body,
    };
    if let Some(len) = response.header("content-length") {
        assert_eq!(
            len.parse::<usize>().ok(),
            Some(response.body.len()),
            "whole body read"
        );
    }
    response
}

/// The log lines of this test process from the first call on (a global
/// subscriber copying every event into a log tail of its own).
pub fn captured_logs() -> &'static ServerState {
    static CAPTURED: OnceLock<ServerState> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        use tracing_subscriber::prelude::*;
        let state = ServerState::new();
        let layer = yail_server::admin::LogTailLayer::new(state.clone());
        tracing_subscriber::registry()
            .with(layer.with_filter(tracing_subscriber::filter::LevelFilter::INFO))
            .init();
        state
    })
}
