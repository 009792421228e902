//! Who may use the admin server. A request must be sent to a name the
//! server is known by, and one that changes something must come from the
//! admin page itself (`origin`). With a token set, scripts and Prometheus
//! send it as `Authorization: Bearer <token>`; browsers log in once at
//! `/login` and then carry a random login id in a cookie, never the token.
//! Every check of the token goes through `FailedLogins`, which makes a
//! network that sent a wrong token wait before its next one is checked.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::error::AdminError;
use super::logins::{Attempt, SESSION_LIFETIME, SessionId, same, whole_seconds};
use super::origin::{judge, peer_of, shown};
use super::shared::AdminShared;

const COOKIE: &str = "yail_admin";

/// Refuses a request sent to a name the server is not known by, and a
/// request that changes something when it comes from another site's page.
pub(super) async fn check_origin(
    State(shared): State<Arc<AdminShared>>,
    request: Request,
    next: Next,
) -> Response {
    let verdict = judge(
        &shared.hosts,
        request.method(),
        request.uri(),
        request.headers(),
    );
    let Err(error) = verdict else {
        return next.run(request).await;
    };
    if let Some(quiet) = shared.refusals.note(Instant::now()) {
        let peer = peer_of(&request).map_or_else(|| String::from("?"), |p| p.ip().to_string());
        let host = shown(request.headers().get(header::HOST));
        let origin = shown(request.headers().get(header::ORIGIN));
        tracing::warn!(
            %peer,
            method = %request.method(),
            path = request.uri().path(),
            %host,
            %origin,
            refused_since_last_line = quiet,
            "admin request refused: {error}"
        );
    }
    error.into_response()
}

/// Lets a request through when no token is configured, or it carries a
/// login's cookie or the right bearer token; otherwise pages redirect to
/// the login form and the API answers 401 (429 while the client's network
/// must wait after a wrong token).
pub(super) async fn require_token(
    State(shared): State<Arc<AdminShared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    let now = Instant::now();
    if session_cookie(request.headers()).is_some_and(|id| shared.sessions.is_open(&id, now)) {
        return next.run(request).await;
    }
    if let Some(bearer) = bearer(request.headers()) {
        let peer = peer_of(&request).map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        match shared
            .logins
            .attempt(peer, now, || same(bearer.as_bytes(), token.as_bytes()))
        {
            Attempt::Accepted => return next.run(request).await,
            Attempt::Wrong { failures, wait } => log_wrong_token(peer, failures, wait, "bearer"),
            Attempt::TooSoon { wait } => {
                return AdminError::TooManyFailures {
                    wait_secs: whole_seconds(wait),
                }
                .into_response();
            }
        }
    }
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        AdminError::Unauthorized.into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

fn log_wrong_token(peer: IpAddr, failures: u32, wait: Duration, how: &str) {
    tracing::warn!(
        %peer,
        failures,
        wait_secs = whole_seconds(wait),
        "admin: wrong token ({how}); its network's next attempt waits"
    );
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The login id of the session cookie, if it is well-formed.
fn session_cookie(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .and_then(SessionId::from_hex)
}

pub(super) async fn login_form() -> Html<&'static str> {
    Html(LOGIN_PAGE)
}

#[derive(Deserialize)]
pub(super) struct Login {
    token: String,
}

pub(super) async fn login(
    State(shared): State<Arc<AdminShared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(login): Form<Login>,
) -> Response {
    let Some(token) = &shared.token else {
        return Redirect::to("/").into_response();
    };
    let now = Instant::now();
    let peer = peer.ip();
    let attempt = shared
        .logins
        .attempt(peer, now, || same(login.token.as_bytes(), token.as_bytes()));
    let wait = match attempt {
        Attempt::Accepted => return logged_in(&shared, now),
        Attempt::Wrong { failures, wait } => {
            log_wrong_token(peer, failures, wait, "login form");
            return (
                StatusCode::UNAUTHORIZED,
                Html(login_page(&format!(
                    "Wrong token. The next try is checked after {} s.",
                    whole_seconds(wait)
                ))),
            )
                .into_response();
        }
        Attempt::TooSoon { wait } => whole_seconds(wait),
    };
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Html(login_page(&format!(
            "Too many wrong tokens from your address: try again in {wait} s."
        ))),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// Opens a login and sets its cookie.
fn logged_in(shared: &AdminShared, now: Instant) -> Response {
    let id = match shared.sessions.open(now) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        id.to_hex(),
        SESSION_LIFETIME.as_secs()
    );
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response(),
        Err(_) => AdminError::Internal("the login cookie could not be made".into()).into_response(),
    }
}

/// The login page with `message` (plain text, ours) above the form.
fn login_page(message: &str) -> String {
    LOGIN_PAGE.replace("<!--message-->", &format!("<p class=err>{message}</p>"))
}

const LOGIN_PAGE: &str = r#"<!doctype html>
<html lang=en><head><meta charset=utf-8><title>YAIL admin: log in</title>
<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:24em}.err{color:#b00}</style>
</head><body><h1>YAIL admin</h1><!--message-->
<form method=post action=/login><label>Admin token <input type=password name=token autofocus></label>
<button>Log in</button></form></body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_and_session_cookie_are_read() {
        let id = crate::admin::logins::LoginSessions::default()
            .open(Instant::now())
            .expect("a login");
        let mut headers = HeaderMap::new();
        let cookie = format!("a=1; yail_admin={}; b=2", id.to_hex());
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("a header"),
        );
        assert!(session_cookie(&headers) == Some(id));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer other"),
        );
        assert_eq!(bearer(&headers), Some("other"));
        assert_eq!(bearer(&HeaderMap::new()), None);
        // A cookie holding anything but a login id (the token itself, as
        // older versions set it) opens nothing.
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("yail_admin=s3cret"),
        );
        assert!(session_cookie(&headers).is_none());
    }
}
