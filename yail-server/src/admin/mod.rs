//! The admin web server: status pages, a JSON API, Prometheus metrics and
//! a health check, on the same tokio runtime as the YAIL server.
//!
//! The router is built in one function (`router`); handlers are small and
//! typed, and every failure becomes a response in one place
//! ([`AdminError`]'s `IntoResponse`).

mod api;
mod auth;
mod error;
mod logins;
mod logs;
mod metrics;
mod models;
mod origin;
mod page;
mod settings;
mod shared;
mod tries;
mod try_it;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use crate::authority::AdminHost;
use crate::config::SettingsStore;
use crate::services::Services;
pub use error::AdminError;
pub use logs::LogTailLayer;
use shared::AdminShared;
use tries::Tries;

/// Largest picture the "try it" page accepts.
pub const MAX_TRY_BYTES: usize = 16 << 20;

/// Where and how the admin server listens.
#[derive(Clone, Default)]
pub struct AdminOptions {
    /// The token that opens the pages and the API (bearer header or the
    /// login form's cookie); `None`: open to whoever can reach the port,
    /// which is only allowed on a loopback address.
    pub token: Option<String>,
    /// Host names the page answers to besides its address, loopback and
    /// `localhost` (`--admin-host`): any other `Host` is refused, which
    /// stops DNS rebinding.
    pub hosts: Vec<AdminHost>,
    /// The address an Atari opens to reach the YAIL server, as its `N:`
    /// device writes it (`N:TCP://192.168.1.10:5556/`), shown on the
    /// dashboard while nobody is connected; `None`: not shown.
    pub atari_address: Option<String>,
    /// Largest picture the "try it" page accepts, in bytes (`None`:
    /// [`MAX_TRY_BYTES`]).
    pub max_try_bytes: Option<usize>,
    /// Where the settings page saves its changes; the default saves
    /// nowhere (they last until the server stops).
    pub settings: SettingsStore,
}

impl std::fmt::Debug for AdminOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminOptions")
            .field("token", &self.token.as_ref().map(|_| "set (hidden)"))
            .field("hosts", &self.hosts)
            .field("atari_address", &self.atari_address)
            .field("max_try_bytes", &self.max_try_bytes)
            .field("settings", &self.settings.path())
            .finish()
    }
}

/// Shortest token accepted when the page is bound beyond loopback.
pub const MIN_PUBLIC_TOKEN_CHARS: usize = 16;

/// Refuses a non-loopback `addr` when `token` is `None` (or empty), or
/// shorter than [`MIN_PUBLIC_TOKEN_CHARS`] characters, or only whitespace.
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), AdminError> {
    if is_loopback(addr.ip()) {
        return Ok(());
    }
    match token.filter(|t| !t.is_empty()) {
        None => Err(AdminError::PublicWithoutToken(addr)),
        Some(t) if t.trim().is_empty() || t.chars().count() < MIN_PUBLIC_TOKEN_CHARS => {
            Err(AdminError::WeakToken {
                addr,
                min_chars: MIN_PUBLIC_TOKEN_CHARS,
            })
        }
        Some(_) => Ok(()),
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

/// Serves the admin pages on `listener` until `shutdown` completes, with
/// the same `services` as the YAIL server.
///
/// Refuses (before serving anything) when the listener is not on a
/// loopback address and `options` has no token, or a weak one
/// ([`check_bind`]). The services' settings are shown on the settings page
/// (secrets masked); the changes made there are saved with
/// `options.settings`.
pub async fn run_admin(
    listener: TcpListener,
    services: Services,
    options: AdminOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AdminError> {
    let addr = listener.local_addr()?;
    let token = options.token.filter(|t| !t.is_empty());
    check_bind(addr, token.as_deref())?;
    let shared = Arc::new(AdminShared {
        services,
        token,
        started: Instant::now(),
        started_at: SystemTime::now(),
        tries: Tries::default(),
        hosts: origin::HostRules::new(addr.ip(), &options.hosts),
        refusals: origin::RefusalLog::default(),
        sessions: logins::LoginSessions::default(),
        logins: logins::FailedLogins::default(),
        atari_address: options.atari_address,
        max_try_bytes: options.max_try_bytes.unwrap_or(MAX_TRY_BYTES),
        settings: options.settings,
        changing: std::sync::Mutex::new(()),
    });
    tracing::info!("admin page on http://{addr}/");
    // The peer's address names a client that sent a wrong token, and
    // counts its network's wrong tokens.
    let service = router(shared).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Every route of the admin server.
fn router(shared: Arc<AdminShared>) -> Router {
    let max_try_bytes = shared.max_try_bytes;
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
        .route(
            "/api/config",
            get(settings::config).post(settings::change_config),
        )
        .route("/api/models", get(models::models))
        .route("/api/check", post(models::check))
        .route("/api/logs", get(logs::lines))
        .route("/api/logs/stream", get(logs::stream))
        .route(
            "/api/try",
            post(try_it::upload).layer(DefaultBodyLimit::max(max_try_bytes)),
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
        // Outermost, for every route: a request sent to a foreign name, or
        // a change posted by another site's page, goes no further.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::check_origin,
        ))
        // Around everything: axum's own refusals (a body too large, JSON
        // that does not parse) answer in JSON like every other error.
        .layer(axum::middleware::from_fn_with_state(
            max_try_bytes,
            error::json_errors,
        ))
        .with_state(shared)
}
