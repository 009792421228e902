//! Reading a response body within bounds: a downloaded body ([`Fetched`])
//! and the check that it is a picture, a body read whole within a limit
//! ([`read_limited`]), and the chunks of one read as it arrives.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use url::Url;

use super::error::{FetchError, classify};
use super::limits::Reservation;

/// A downloaded body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The URL after redirects.
    pub url: Url,
    /// The share of the download memory budget the body holds, until the
    /// last clone of this is dropped.
    pub(super) _reservation: Option<Arc<Reservation>>,
}

impl Fetched {
    /// Refuses a body declared as a web page, text, JSON or XML that does
    /// not start like a picture either: a host that answers a picture URL
    /// with a login or error page gets a message saying so rather than a
    /// decoder's complaint. A body that starts like a picture is kept
    /// whatever its declared type (hosts mislabel pictures).
    ///
    /// # Errors
    /// [`FetchError::NotAPicture`] naming what came instead.
    pub fn check_picture(&self) -> Result<(), FetchError> {
        let Some(declared) = self.content_type.as_deref() else {
            return Ok(());
        };
        let essence = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let textual = essence.starts_with("text/")
            || essence == "application/json"
            || essence == "application/xml"
            || essence.ends_with("+xml") && !essence.starts_with("image/")
            || essence.ends_with("+json");
        if !textual || looks_like_picture(&self.bytes) {
            return Ok(());
        }
        let what = if essence == "text/html" || essence == "application/xhtml+xml" {
            format!("a web page ({essence})")
        } else {
            format!("text ({essence})")
        };
        Err(FetchError::NotAPicture {
            host: self.url.host_str().unwrap_or("the server").to_string(),
            what,
        })
    }
}

/// Whether `bytes` start with the signature of a picture format the
/// decoders read.
fn looks_like_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8, 0xff])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"GIF8")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || bytes.starts_with(b"BM")
}

/// Reads a response body, failing as soon as it grows past `limit` bytes
/// (reqwest has no limit of its own). Works on any reqwest response, not
/// only a [`Fetcher`](super::Fetcher)'s.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Bytes, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge { limit });
    }
    let capacity = response.content_length().unwrap_or(0).min(limit);
    let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = next_chunk(&mut response).await? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The next piece of a response body as it arrives, `None` at its end, for
/// callers that read a stream within bounds of their own (a camera).
pub(crate) async fn next_chunk(
    response: &mut reqwest::Response,
) -> Result<Option<Bytes>, FetchError> {
    response.chunk().await.map_err(|e| {
        let host = response.url().host_str().unwrap_or_default().to_string();
        classify(&e, &host)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_pages_are_not_pictures_but_mislabelled_pictures_are() {
        let fetched = |content_type: Option<&str>, body: &'static [u8]| Fetched {
            bytes: Bytes::from_static(body),
            content_type: content_type.map(str::to_string),
            url: Url::parse("http://pics.example.com/cat.jpg").expect("a URL"),
            _reservation: None,
        };
        let page = fetched(Some("text/html; charset=utf-8"), b"<html>login</html>");
        let error = page.check_picture().expect_err("a web page");
        assert_eq!(
            error.to_string(),
            "pics.example.com sent a web page (text/html), not a picture"
        );
        let json = fetched(Some("application/json"), b"{}");
        assert!(json.check_picture().is_err());
        for ok in [
            fetched(Some("text/html"), b"\xff\xd8\xff\xe0 a JPEG after all"),
            fetched(Some("image/jpeg"), b"not checked here: the decoder decides"),
            fetched(Some("application/octet-stream"), b"?"),
            fetched(None, b"?"),
        ] {
            assert!(ok.check_picture().is_ok(), "{:?}", ok.content_type);
        }
    }
}
