//! `showurl URL`: one picture fetched through the guarded fetcher.
//!
//! The session keeps the packet it sent, never the downloaded body (up to
//! the download limit, 20 MB, per session): `next` in the same mode is
//! answered from that packet, and another mode asks the pipeline, whose
//! shared cache may hold it, or downloads again. The body lives only while
//! its conversion runs, and a failed one leaves nothing behind.

use super::request::{Pictures, Request};
use crate::download_clock;
use crate::error::RequestError;
use crate::fetch::FetchError;
use crate::services::pipeline::{Converted, PipelineError};

/// A session's `showurl` picture.
pub(crate) struct UrlPicture {
    url: String,
    /// The packet last sent, for `next` in the same mode.
    shown: Option<Converted>,
}

impl UrlPicture {
    pub(crate) fn new(url: String) -> UrlPicture {
        UrlPicture { url, shown: None }
    }
}

impl Pictures for UrlPicture {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("showurl", Some(&self.url))
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        if let Some(shown) = &self.shown
            && shown.mode == request.settings.mode
        {
            return Ok(shown.clone());
        }
        let fetcher = request.services.fetcher();
        let client = request.client;
        let url = self.url.as_str();
        // Runs only when no cached packet or conversion in flight serves
        // the request. The fetcher's error travels inside the pipeline's
        // load error, so the client is told what went wrong with the host.
        let download = async {
            let fetched = fetcher
                .get_for(client, url)
                .await
                .map_err(std::io::Error::other)?;
            fetched.check_picture().map_err(std::io::Error::other)?;
            Ok(fetched.bytes)
        };
        let name = display_name(url);
        let identity = format!("url:{url}");
        // Another session may be downloading the same URL already: waiting
        // for its download is waiting on a download too, so the clock a
        // full server reads runs for the whole of the pipeline's work.
        let _waiting = download_clock::mark();
        let packet = request
            .services
            .pipeline()
            .packet(&name, &identity, &request.settings, download)
            .await
            .map_err(download_error)?;
        self.shown = Some(packet.clone());
        Ok(packet)
    }
}

/// The download's own error when that is why the picture could not be
/// loaded; otherwise the pipeline's.
fn download_error(error: PipelineError) -> RequestError {
    if let PipelineError::Load { source, .. } = &error
        && let Some(fetch) = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<FetchError>())
    {
        return RequestError::Fetch(fetch.clone());
    }
    RequestError::Pipeline(error)
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
