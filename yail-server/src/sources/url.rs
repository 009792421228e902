//! `showurl URL`: one picture fetched through the guarded fetcher; `next`
//! shows it again without downloading it again.

use std::sync::Arc;

use super::request::Request;
use crate::error::RequestError;
use crate::services::pipeline::Converted;

/// The session's `showurl` picture.
pub(crate) struct UrlSource {
    url: String,
    /// The downloaded bytes, kept (within the download limit) for `next`.
    body: Option<Arc<[u8]>>,
}

impl UrlSource {
    pub(crate) fn new(url: String) -> UrlSource {
        UrlSource { url, body: None }
    }

    /// The URL this source shows.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        let body = match &self.body {
            Some(body) => Arc::clone(body),
            None => {
                let fetched = request.services.fetcher().get(&self.url).await?;
                fetched.check_picture()?;
                let body: Arc<[u8]> = Arc::from(fetched.bytes.as_ref());
                self.body = Some(Arc::clone(&body));
                body
            }
        };
        let name = display_name(&self.url);
        let identity = format!("url:{}", self.url);
        let packet = request
            .services
            .pipeline()
            .packet(&name, &identity, &request.settings, async { Ok(body) })
            .await?;
        Ok(packet)
    }
}

/// The host and last path segment: enough to recognise the picture in a
/// message without echoing a query string.
pub(crate) fn display_name(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            let file = parsed
                .path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|s| !s.is_empty())
                .unwrap_or("");
            let file: String = file.chars().take(40).collect();
            format!("{host}/{file}")
        }
        Err(_) => String::from("the URL"),
    }
}
