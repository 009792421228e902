//! A SearXNG instance's JSON API (`/search?format=json&categories=images`),
//! which the instance must have enabled (`search.formats: [json]`; without
//! it the instance answers 403, searx/webapp.py `search`).
//!
//! An instance with its limiter on (`server.limiter: true`) answers 429 to
//! a `/search` without `Accept-Language`, without an `Accept-Encoding`
//! item that is exactly `gzip` or `deflate`, without `text/html` in
//! `Accept` as Werkzeug reads it (`*/*` counts), or from a User-Agent on
//! its bot list (searx/botdetection/). We send what passes: our own
//! User-Agent (`yail-server/...`, on no list; a browser's would bring its
//! Sec-Fetch checks on https), `Accept: application/json, */*;q=0.5`,
//! `Accept-Language`, and reqwest's `Accept-Encoding: gzip, deflate`. The
//! limiter also allows only 4 API requests an hour per address, which the
//! results cache keeps us under for repeated terms; an operator's own
//! instance lists this server in `pass_ip` (docs/configuration.md).

use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, HeaderMap, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::engine::{Engine, Hit, SearchError, Searching};

use crate::fetch::{FetchError, Fetcher};

/// SearXNG at `base`.
pub struct Searxng {
    base: Url,
    fetcher: Fetcher,
}

impl Searxng {
    /// An engine talking to `base` through `fetcher`.
    pub fn new(base: Url, fetcher: Fetcher) -> Searxng {
        Searxng { base, fetcher }
    }

    async fn run(&self, term: &str) -> Result<Vec<Hit>, SearchError> {
        let mut url = self.base.clone();
        let path = format!("{}/search", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().clear().extend_pairs([
            ("q", term),
            ("format", "json"),
            ("categories", "images"),
        ]);
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, */*;q=0.5"),
        );
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
        let fetched = match self.fetcher.get_with(url.as_str(), headers).await {
            Ok(fetched) => fetched,
            Err(FetchError::Status { status: 403, .. }) => {
                return Err(SearchError::Refused(
                    "the SearXNG instance does not offer JSON (add json to search.formats)",
                ));
            }
            Err(FetchError::Status { status: 429, .. }) => return Err(SearchError::Limited),
            Err(e) => return Err(e.into()),
        };
        let declared_html = fetched
            .content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
        if declared_html {
            return Err(SearchError::Refused(
                "the SearXNG instance answered a web page, not JSON",
            ));
        }
        parse_results(&fetched.bytes)
    }
}

impl Engine for Searxng {
    fn search<'a>(&'a self, term: &'a str) -> Searching<'a> {
        Box::pin(self.run(term))
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<ResultItem>,
}

#[derive(Deserialize)]
struct ResultItem {
    img_src: Option<String>,
    thumbnail_src: Option<String>,
}

fn parse_results(body: &[u8]) -> Result<Vec<Hit>, SearchError> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| SearchError::Format(e.to_string()))?;
    let web = |u: &String| u.starts_with("http://") || u.starts_with("https://");
    Ok(answer
        .results
        .into_iter()
        .filter_map(|item| {
            Some(Hit {
                image: item.img_src.filter(web)?,
                thumbnail: item.thumbnail_src.filter(web),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_results_are_read_and_others_dropped() {
        let body = br#"{"query":"cat","results":[
            {"url":"https://page","img_src":"https://i.example/c.jpg","thumbnail_src":"https://i.example/t.jpg"},
            {"url":"https://page2","content":"text result"}
        ]}"#;
        let hits = parse_results(body).expect("valid JSON");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].image, "https://i.example/c.jpg");
        assert_eq!(
            hits[0].thumbnail.as_deref(),
            Some("https://i.example/t.jpg")
        );
    }
}
