//! Every way an admin request can fail, and the one place each becomes an
//! HTTP response.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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
