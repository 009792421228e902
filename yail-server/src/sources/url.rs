//! `showurl URL`: one picture fetched through the guarded fetcher; `next`
//! shows it again without downloading it again.

use std::sync::Arc;

use super::request::{Pictures, Request};
use crate::error::RequestError;
use crate::services::pipeline::Converted;

/// A session's `showurl` picture.
pub(crate) struct UrlPicture {
    url: String,
    /// The downloaded bytes, kept (within the download limit) for `next`.
    body: Option<Arc<[u8]>>,
}

impl UrlPicture {
    pub(crate) fn new(url: String) -> UrlPicture {
        UrlPicture { url, body: None }
    }
}

impl Pictures for UrlPicture {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("showurl", Some(&self.url))
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        let body = match &self.body {
            Some(body) => Arc::clone(body),
            None => {
                let fetched = request
                    .services
                    .fetcher()
                    .get_for(request.client, &self.url)
                    .await?;
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
