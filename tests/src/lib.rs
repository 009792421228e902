//! Helpers shared by the integration tests: a server on a loopback port
//! that stops when its handle is dropped or shut down.

pub mod fake_http;
pub mod fake_search;
pub mod fake_tcp;
pub mod test_net;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use yail_proto::client::Client;
use yail_server::{Config, Services};
use yail_state::ServerState;

/// A server running in the test's runtime.
pub struct TestServer {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// Its shared state, for checking metrics and sessions.
    pub state: ServerState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with `config` on a free loopback port.
    pub async fn start(config: Config) -> TestServer {
        TestServer::start_with_state(config, ServerState::new()).await
    }

    /// Starts a server sharing `state`.
    pub async fn start_with_state(config: Config, state: ServerState) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let services = Services::start(config, state.clone())
            .await
            .expect("the configuration is usable");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(yail_server::run(listener, services, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A new client connection that reads error packets in every mode, as
    /// a program does (`errors packets`, sent first).
    pub async fn client(&self) -> Client {
        let mut client = self.atari().await;
        client
            .ask_for_error_packets()
            .await
            .expect("write to the test server");
        client
    }

    /// A new client connection that writes only what an Atari writes, and
    /// so is told of errors as an Atari is (in Graphics 8 to 15, drawn into
    /// a picture).
    pub async fn atari(&self) -> Client {
        let mut client = Client::connect(self.addr)
            .await
            .expect("connect to the test server");
        client.set_timeout(Duration::from_secs(30));
        client
    }

    /// Asks the server to stop and waits until `run` has returned.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads `read` every 10 ms until it returns `expected` (at most 5 s), and
/// returns the last value read, for the caller to assert on.
pub async fn eventually<T: PartialEq>(expected: T, mut read: impl FnMut() -> T) -> T {
    for _ in 0..500 {
        let value = read();
        if value == expected {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    read()
}

/// Defaults for tests: no prefetch (so conversion counts are exact), two
/// workers, and the search service on a closed loopback port, so that no
/// test reaches the internet by accident.
pub fn test_config() -> Config {
    Config {
        prefetch: false,
        workers: 2,
        search_url: String::from("http://127.0.0.1:9"),
        ..Config::default()
    }
}

/// The photo directory of the repository.
pub fn photos_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos")
}
