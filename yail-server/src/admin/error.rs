//! Every way an admin request can fail, and the one place each becomes an
//! HTTP response.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bytes of a plain-text refusal read to turn it into JSON.
const MAX_TEXT_REFUSAL: usize = 4096;

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
    /// A non-loopback address with a token anyone could guess.
    #[error(
        "refusing to serve the admin page on {addr} with a weak token: beyond loopback, \
         --admin-token (or YAIL_ADMIN_TOKEN) must be at least {min_chars} characters and not \
         only spaces (`openssl rand -hex 16` makes a good one), or bind the page to 127.0.0.1 \
         with --admin-bind 127.0.0.1"
    )]
    WeakToken {
        /// The address asked for.
        addr: SocketAddr,
        /// The shortest token accepted there.
        min_chars: usize,
    },
    /// The listener's address could not be read.
    #[error("admin listener: {0}")]
    Listener(#[from] std::io::Error),
    /// A request without the token.
    #[error("this needs the admin token (Authorization: Bearer <token>, or log in at /login)")]
    Unauthorized,
    /// A request sent to a host name the admin page does not answer to: a
    /// page that rebound its own name to this server's address.
    #[error(
        "this admin page does not answer to the name {0:?}: open it by its address or \
         localhost, or start the server with --admin-host NAME"
    )]
    UnknownHost(String),
    /// A request that changes something, sent by another site's page.
    #[error("refused: changes are only taken from the admin page itself ({0})")]
    CrossSite(String),
    /// Too many wrong tokens from the client's network lately.
    #[error("too many wrong tokens from your address: try again in {wait_secs} s")]
    TooManyFailures {
        /// Seconds until the token is checked again.
        wait_secs: u64,
    },
    /// Something the client asked for does not exist (any more).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request made no sense.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A body of a type the route does not take.
    #[error("unsupported media type: {0}")]
    UnsupportedMedia(String),
    /// The server could not do it.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::UnknownHost(_) => StatusCode::MISDIRECTED_REQUEST,
            AdminError::CrossSite(_) => StatusCode::FORBIDDEN,
            AdminError::TooManyFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AdminError::PublicWithoutToken(_)
            | AdminError::WeakToken { .. }
            | AdminError::Listener(_)
            | AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after = match &self {
            AdminError::TooManyFailures { wait_secs } => Some(*wait_secs),
            _ => None,
        };
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"yail-admin\""),
            );
        }
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

/// Answers axum's own refusals in JSON, as every other error is answered:
/// a body over its limit (413), a JSON body that does not parse or fit
/// (400, 415, 422), a method a route does not take (405). The page shows
/// the `error`; a script reads one shape. `max_try_bytes`: the limit of
/// "try it", named in its 413.
pub(super) async fn json_errors(
    State(max_try_bytes): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let upload = request.uri().path() == "/api/try";
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT_REFUSAL)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE if upload => format!(
            "the picture is too large: \"try it\" takes pictures of up to {}",
            size(max_try_bytes)
        ),
        StatusCode::PAYLOAD_TOO_LARGE => "the request is too large".to_owned(),
        _ if !text.trim().is_empty() => text.trim().to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned(),
    };
    let body = serde_json::json!({ "error": message }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// `bytes` as a person reads a size.
fn size(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(10_000), "9 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
