//! The one HTML page: plain HTML, CSS and vanilla JavaScript compiled into
//! the binary. Every path of the page serves it; its script shows the
//! section the path names and fills it from the JSON API.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("page.html");

pub(super) async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
}
