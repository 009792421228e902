//! DuckDuckGo image search: the search page carries a `vqd` token, which
//! the `i.js` JSON endpoint needs together with a `Referer` and
//! `Sec-Fetch-Mode: cors`. 202, 403, 418 and 429 all mean "slow down": we
//! back off a bounded number of times, then give up.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, REFERER};
use serde::Deserialize;
use tracing::debug;
use url::Url;

use super::engine::{Engine, Hit, SearchError, Searching};
use crate::fetch::{FetchError, Fetcher, read_limited};

/// Attempts per request when asked to slow down.
const ATTEMPTS: u32 = 3;

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
                    let limit = self.fetcher.config().max_body_bytes;
                    return Ok(read_limited(response, limit).await?.to_vec());
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
        let page = self.get(&page_url, &HeaderMap::new()).await?;
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
                ("f", ",,,,,"),
            ],
        );
        let mut headers = HeaderMap::new();
        if let Ok(referer) = HeaderValue::from_str(self.base.as_str()) {
            headers.insert(REFERER, referer);
        }
        headers.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json, text/javascript, */*; q=0.01"),
        );
        let body = self.get(&json_url, &headers).await?;
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
