//! The admin web server: status pages, a JSON API, Prometheus metrics and
//! a health check, on the same tokio runtime as the YAIL server.
//!
//! The router is built in one function (`router`); handlers are small and
//! typed, and every failure becomes a response in one place
//! ([`AdminError`]'s `IntoResponse`).

mod api;
mod auth;
mod logs;
mod metrics;
mod page;
mod try_it;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use yail_state::ServerState;

use crate::Config;

pub use logs::LogTailLayer;

/// The admin server's default port.
pub const DEFAULT_ADMIN_PORT: u16 = 5557;

/// Largest picture the "try it" page accepts.
pub const MAX_TRY_BYTES: usize = 16 << 20;

/// Where and how the admin server listens.
#[derive(Clone, Default)]
pub struct AdminOptions {
    /// The token that opens the pages and the API (bearer header or the
    /// login form's cookie); `None`: open to whoever can reach the port,
    /// which is only allowed on a loopback address.
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminOptions")
            .field("token", &self.token.as_ref().map(|_| "set (hidden)"))
            .finish()
    }
}

/// Why the admin server refused to start or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A non-loopback address without a token.
    #[error(
        "refusing to serve the admin page on {0} without a token: anyone who can reach it \
         could watch sessions and change settings. Set --admin-token (or YAIL_ADMIN_TOKEN), \
         or bind it to 127.0.0.1 with --admin-bind 127.0.0.1 (or turn it off with --no-admin)"
    )]
    PublicWithoutToken(SocketAddr),
    /// The listener's address could not be read.
    #[error("admin listener: {0}")]
    Listener(#[from] std::io::Error),
    /// A request without the token.
    #[error("this needs the admin token (Authorization: Bearer <token>, or log in at /login)")]
    Unauthorized,
    /// Something the client asked for does not exist (any more).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request made no sense.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The server could not do it.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::PublicWithoutToken(_)
            | AdminError::Listener(_)
            | AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"yail-admin\""),
            );
        }
        response
    }
}

/// Refuses a non-loopback `addr` when `token` is `None` (or empty).
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), AdminError> {
    let has_token = token.is_some_and(|t| !t.is_empty());
    if has_token || is_loopback(addr.ip()) {
        Ok(())
    } else {
        Err(AdminError::PublicWithoutToken(addr))
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// What every admin handler shares.
pub(crate) struct AdminShared {
    pub(crate) state: ServerState,
    pub(crate) config: Config,
    pub(crate) token: Option<String>,
    pub(crate) started: Instant,
    pub(crate) started_at: SystemTime,
    pub(crate) tries: try_it::Tries,
}

type Shared = Arc<AdminShared>;

/// Serves the admin pages on `listener` until `shutdown` completes.
///
/// Refuses (before serving anything) when the listener is not on a
/// loopback address and `options` has no token. `config` is shown on the
/// settings page (secrets masked); its picture paths seed the
/// runtime-changeable settings unless those already name some.
pub async fn run_admin(
    listener: TcpListener,
    state: ServerState,
    config: Config,
    options: AdminOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AdminError> {
    let addr = listener.local_addr()?;
    let token = options.token.filter(|t| !t.is_empty());
    check_bind(addr, token.as_deref())?;
    let runtime = state.runtime_settings();
    if runtime.picture_paths.is_empty() && !config.paths.is_empty() {
        let mut seeded = (*runtime).clone();
        seeded.picture_paths.clone_from(&config.paths);
        state.set_runtime_settings(seeded);
    }
    let shared = Arc::new(AdminShared {
        state,
        config,
        token,
        started: Instant::now(),
        started_at: SystemTime::now(),
        tries: try_it::Tries::default(),
    });
    tracing::info!("admin page on http://{addr}/");
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Every route of the admin server.
fn router(shared: Shared) -> Router {
    let pages = ["/", "/sessions", "/recent", "/try", "/logs", "/settings"];
    let mut router = Router::new();
    for path in pages {
        router = router.route(path, get(page::index));
    }
    router
        .route("/api/status", get(api::status))
        .route("/api/sessions", get(api::sessions))
        .route("/api/sessions/{id}/last.png", get(api::session_picture))
        .route("/api/recent", get(api::recent))
        .route("/api/recent/{file}", get(api::recent_file))
        .route("/api/config", get(api::config).post(api::change_config))
        .route("/api/logs", get(logs::lines))
        .route("/api/logs/stream", get(logs::stream))
        .route(
            "/api/try",
            post(try_it::upload).layer(DefaultBodyLimit::max(MAX_TRY_BYTES)),
        )
        .route("/api/try/{id}/{file}", get(try_it::file))
        .route("/sample.jpg", get(try_it::sample))
        .route("/metrics", get(metrics::prometheus))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::require_token,
        ))
        // Outside the token check: service managers and the login form.
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/login", get(auth::login_form).post(auth::login))
        .with_state(shared)
}
