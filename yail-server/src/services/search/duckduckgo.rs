//! DuckDuckGo image search: the search page carries a `vqd` token, which
//! the `i.js` JSON endpoint needs. DuckDuckGo publishes no API; what it
//! accepts is what the maintained clients learned (the `ddgs` library,
//! SearXNG's engine), and the requests below follow them:
//!
//! - one browser User-Agent for both requests: the token is bound to the
//!   query and to the User-Agent of the page request (SearXNG's engine
//!   pins one per process "to be able to reuse the vqd value");
//! - the page asked as a browser navigates to it (`Sec-Fetch-Mode:
//!   navigate`, `Accept: text/html...`, `Accept-Language`), the JSON as
//!   the page's script fetches it (`Sec-Fetch-Mode: cors`, `Accept: */*`,
//!   a `Referer` on duckduckgo.com), as ddgs has done since its early-2026
//!   fix of the images engine;
//! - `Accept-Encoding: gzip, deflate` on both (reqwest's default with its
//!   gzip and deflate features): i.js answered 403 without it (ddgs issue
//!   136); `br` is not offered, as we could not decode it;
//! - no `Accept-Language` on i.js: SearXNG found "all i.js requests
//!   sending the accept language header get blocked" (its PR 6188,
//!   2026-05-31) and stopped sending it; ddgs still sends it. Leaving it
//!   out is what works for both, as no source shows i.js refusing a
//!   request without it. The page request keeps it, as every browser
//!   sends one on a navigation;
//! - no `f` parameter: clients send it only when a filter is set (ddgs
//!   5b8d780), and we set none.
//!
//! 202, 403, 418 and 429 all mean "slow down": we back off a bounded
//! number of times (two retries, as no client retries more), then give up;
//! the search service then leaves DuckDuckGo alone for a while.

use std::time::Duration;

use reqwest::header::{
    ACCEPT, ACCEPT_LANGUAGE, HeaderMap, HeaderName, HeaderValue, REFERER, USER_AGENT,
};
use serde::Deserialize;
use tracing::debug;
use url::Url;

use super::engine::{Engine, Hit, SearchError, Searching};
use crate::fetch::{FetchError, Fetcher};

/// Attempts per request when asked to slow down.
const ATTEMPTS: u32 = 3;

/// The User-Agent of both requests: a current Firefox on Linux, in the
/// form SearXNG generates its own (searx/data/useragents.json) and with
/// the version ddgs's research recommends (Firefox 140 ESR).
pub(crate) const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";

/// The headers of the search page request, as Firefox sends them when a
/// user opens the page (primp's Firefox profile; SearXNG sends the
/// navigate set for DuckDuckGo's pages).
fn page_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(BROWSER_USER_AGENT));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    );
    headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.5"));
    for (name, value) in [
        ("upgrade-insecure-requests", "1"),
        ("sec-fetch-dest", "document"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-site", "none"),
        ("sec-fetch-user", "?1"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers
}

/// The headers of the `i.js` request, as the page's script sends them
/// (ddgs 87fb83a; Accept and Referer as SearXNG's duckduckgo_extra sends
/// them).
fn results_headers(referer: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(BROWSER_USER_AGENT));
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    if let Ok(referer) = HeaderValue::from_str(referer) {
        headers.insert(REFERER, referer);
    }
    for (name, value) in [
        ("sec-fetch-dest", "empty"),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-site", "same-origin"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers
}

/// DuckDuckGo at `base` (normally `https://duckduckgo.com`).
pub struct DuckDuckGo {
    base: Url,
    fetcher: Fetcher,
    /// First back-off pause; doubled each time.
    backoff: Duration,
}

impl DuckDuckGo {
    /// An engine talking to `base` through `fetcher`.
    pub fn new(base: Url, fetcher: Fetcher, backoff: Duration) -> DuckDuckGo {
        DuckDuckGo {
            base,
            fetcher,
            backoff,
        }
    }

    fn endpoint(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url.query_pairs_mut().clear().extend_pairs(query);
        url
    }

    /// GETs `url`, backing off while the service says "slow down".
    async fn get(&self, url: &Url, headers: &HeaderMap) -> Result<Vec<u8>, SearchError> {
        let mut pause = self.backoff;
        for attempt in 1..=ATTEMPTS {
            match self.fetcher.open_with(url.as_str(), headers.clone()).await {
                Ok(response) if response.status().as_u16() != 202 => {
                    return Ok(self.fetcher.read_body(response).await?.to_vec());
                }
                Ok(_)
                | Err(FetchError::Status {
                    status: 403 | 418 | 429,
                    ..
                }) => {
                    debug!(attempt, "image search says slow down");
                }
                Err(e) => return Err(e.into()),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
        }
        Err(SearchError::SlowDown)
    }

    async fn run(&self, term: &str) -> Result<Vec<Hit>, SearchError> {
        let page_url = self.endpoint("/", &[("q", term), ("iax", "images"), ("ia", "images")]);
        let page = self.get(&page_url, &page_headers()).await?;
        let token = vqd_token(&String::from_utf8_lossy(&page))
            .ok_or_else(|| SearchError::Format(String::from("no vqd token in the search page")))?;
        let json_url = self.endpoint(
            "/i.js",
            &[
                ("o", "json"),
                ("q", term),
                ("l", "us-en"),
                ("vqd", token.as_str()),
                ("p", "1"),
            ],
        );
        let mut referer = self.base.clone();
        referer.set_path("/");
        referer.set_query(None);
        let body = self
            .get(&json_url, &results_headers(referer.as_str()))
            .await?;
        parse_results(&body)
    }
}

impl Engine for DuckDuckGo {
    fn search<'a>(&'a self, term: &'a str) -> Searching<'a> {
        Box::pin(self.run(term))
    }
}

/// The `vqd` token in a search page: `vqd="…"`, `vqd='…'` or `vqd=…&`.
pub(crate) fn vqd_token(page: &str) -> Option<String> {
    let start = page.find("vqd=")? + 4;
    let rest = &page[start..];
    let (rest, ends): (&str, &[char]) = match rest.chars().next()? {
        '"' => (&rest[1..], &['"']),
        '\'' => (&rest[1..], &['\'']),
        _ => (rest, &['&', '"', '\'', ' ', ';', ',', '\n']),
    };
    let end = rest.find(ends).unwrap_or(rest.len());
    let token = &rest[..end];
    let valid = !token.is_empty()
        && token.len() <= 200
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| token.to_string())
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<ResultItem>,
}

#[derive(Deserialize)]
struct ResultItem {
    image: Option<String>,
    thumbnail: Option<String>,
}

/// The `results[].image` (and `thumbnail`) of an `i.js` answer; unknown
/// fields are ignored, results without an http(s) image dropped.
pub(crate) fn parse_results(body: &[u8]) -> Result<Vec<Hit>, SearchError> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| SearchError::Format(e.to_string()))?;
    Ok(answer
        .results
        .into_iter()
        .filter_map(|item| {
            let image = item.image.filter(|u| is_web_url(u))?;
            Some(Hit {
                image,
                thumbnail: item.thumbnail.filter(|u| is_web_url(u)),
            })
        })
        .collect())
}

fn is_web_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_every_spelling() {
        assert_eq!(
            vqd_token(r#"<script>vqd="4-1234567_89";</script>"#).as_deref(),
            Some("4-1234567_89")
        );
        assert_eq!(vqd_token("vqd='4-55'").as_deref(), Some("4-55"));
        assert_eq!(
            vqd_token("/d.js?q=cat&vqd=4-777&p=1").as_deref(),
            Some("4-777")
        );
        assert_eq!(vqd_token("no token here"), None);
        assert_eq!(vqd_token(r#"vqd="""#), None);
        assert_eq!(vqd_token(r#"vqd="<script>""#), None);
    }

    #[test]
    fn results_keep_web_images_and_ignore_unknown_fields() {
        let body = br#"{"query":"cat","results":[
            {"image":"https://a.example/1.jpg","thumbnail":"https://t.example/1","width":10,"extra":{}},
            {"image":"javascript:alert(1)"},
            {"title":"no image"},
            {"image":"http://b.example/2.png","thumbnail":"data:xx"}
        ],"next":"i.js?p=2"}"#;
        let hits = parse_results(body).expect("valid JSON");
        assert_eq!(
            hits,
            vec![
                Hit {
                    image: String::from("https://a.example/1.jpg"),
                    thumbnail: Some(String::from("https://t.example/1")),
                },
                Hit {
                    image: String::from("http://b.example/2.png"),
                    thumbnail: None,
                },
            ]
        );
        assert!(matches!(
            parse_results(b"<html>"),
            Err(SearchError::Format(_))
        ));
    }
}
