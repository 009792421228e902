//! A SearXNG instance's JSON API (`/search?format=json&categories=images`),
//! which the instance must have enabled (`search.formats: [json]`).

use serde::Deserialize;
use url::Url;

use super::engine::{Engine, Hit, SearchError, Searching};

use crate::fetch::Fetcher;

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
        let fetched = self.fetcher.get(url.as_str()).await?;
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
