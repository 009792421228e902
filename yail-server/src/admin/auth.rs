//! The admin token: accepted as `Authorization: Bearer <token>` (scripts,
//! Prometheus) or as the cookie the login form sets (browsers).

use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::error::AdminError;
use super::shared::AdminShared;

const COOKIE: &str = "yail_admin";

/// Lets a request through when no token is configured or it carries the
/// token; otherwise pages redirect to the login form and the API answers 401.
pub(super) async fn require_token(
    State(shared): State<Arc<AdminShared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    if presented(request.headers()).is_some_and(|p| same(p.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        AdminError::Unauthorized.into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

/// The token a request carries, from its bearer header or its cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

/// Compares in time that depends only on the lengths, so response times
/// do not tell an attacker how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    Form(login): Form<Login>,
) -> Response {
    let Some(token) = &shared.token else {
        return Redirect::to("/").into_response();
    };
    if !same(login.token.as_bytes(), token.as_bytes()) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Html(LOGIN_PAGE.replace("<!--message-->", "<p class=err>Wrong token.</p>")),
        )
            .into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        login.token
    );
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response(),
        Err(_) => {
            AdminError::BadRequest("the token cannot be stored in a cookie".into()).into_response()
        }
    }
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
    fn bearer_header_and_cookie_are_both_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; yail_admin=s3cret; b=2"),
        );
        assert_eq!(presented(&headers), Some("s3cret"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer other"),
        );
        assert_eq!(presented(&headers), Some("other"));
        assert_eq!(presented(&HeaderMap::new()), None);
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(b"token", b"token"));
        assert!(!same(b"token", b"tokem"));
        assert!(!same(b"token", b"token2"));
        assert!(!same(b"", b"x"));
    }
}
