//! A TCP peer on 127.0.0.1 that is not an HTTP server at all, for faults
//! below HTTP: it reads what the client sends first (a TLS ClientHello,
//! say), answers with fixed bytes (or nothing) and hangs up. Counts the
//! connections it accepted.
//!
//! ```no_run
//! # async fn demo() {
//! use yail_tests::fake_tcp::FakeTcp;
//! // A plain HTTP server's answer to a TLS handshake.
//! let peer = FakeTcp::start(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()).await;
//! let url = format!("https://{}/cat.jpg", peer.addr());
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running peer; stops listening when dropped.
pub struct FakeTcp {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FakeTcp {
    /// Binds a free loopback port; every connection gets `answer` after
    /// the client's first bytes, then is closed (an empty `answer`: closed
    /// as soon as the client has spoken).
    pub async fn start(answer: Vec<u8>) -> FakeTcp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fake TCP peer");
        let addr = listener.local_addr().expect("bound address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut first = [0u8; 4096];
                    let _ = stream.read(&mut first).await;
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeTcp {
            addr,
            accepted,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FakeTcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port nothing listens on: bound, noted and closed again.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("bound address").port()
}
