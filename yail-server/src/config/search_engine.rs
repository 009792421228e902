//! Which web image search service `search` uses.

use std::fmt;

/// Which web image search service `search` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchEngine {
    /// DuckDuckGo (no key needed).
    #[default]
    DuckDuckGo,
    /// A SearXNG instance with its JSON API enabled.
    Searxng,
}

impl SearchEngine {
    /// The name the flag and the admin page use.
    pub fn name(self) -> &'static str {
        match self {
            SearchEngine::DuckDuckGo => "duckduckgo",
            SearchEngine::Searxng => "searxng",
        }
    }
}

impl fmt::Display for SearchEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SearchEngine {
    type Err = String;

    fn from_str(text: &str) -> Result<SearchEngine, String> {
        match text.to_ascii_lowercase().as_str() {
            "duckduckgo" | "ddg" => Ok(SearchEngine::DuckDuckGo),
            "searxng" => Ok(SearchEngine::Searxng),
            other => Err(format!(
                "unknown search engine {other:?} (duckduckgo or searxng)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for engine in [SearchEngine::DuckDuckGo, SearchEngine::Searxng] {
            assert_eq!(engine.name().parse::<SearchEngine>(), Ok(engine));
        }
        assert_eq!("DDG".parse::<SearchEngine>(), Ok(SearchEngine::DuckDuckGo));
        assert!("bing".parse::<SearchEngine>().is_err());
    }
}
