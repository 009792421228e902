// Long because each fake states, beside every rule, where the rule comes
// from; the rules themselves are short.
//! Fake DuckDuckGo and SearXNG servers that refuse what the real services
//! refuse, with the real status and body, so a search that passes them
//! sends what the services accept.
//!
//! DuckDuckGo publishes no API: its rules here are what the maintained
//! clients learned, in their commits and issues: the `ddgs` library
//! (github.com/deedy5/ddgs, read at a97a4fc) and SearXNG's engine
//! (github.com/searxng/searxng `searx/engines/duckduckgo*.py`, read at
//! 9fea412). SearXNG's rules are read from its source at that commit, so
//! they are exact. Every rule names its reference where it is enforced.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::fake_http::{FakeHttp, Reply, Request, offered_encodings};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The body of DuckDuckGo's 403, as users of its image API have quoted it
/// (github.com/razor85/FenrirScreenshotManager issue 9, 2023 to 2025).
pub const DDG_FORBIDDEN_BODY: &str =
    "If this error persists, please let us know: ops@duckduckgo.com";

/// DuckDuckGo's refusal: 403, text/html, [`DDG_FORBIDDEN_BODY`].
fn ddg_forbidden() -> Reply {
    Reply::status(403, "text/html", DDG_FORBIDDEN_BODY)
}

/// One image result of the fake DuckDuckGo.
#[derive(Debug, Clone)]
pub struct DdgImage {
    /// The full picture's URL (`image`).
    pub image: String,
    /// Its thumbnail's URL (`thumbnail`), which the real service points at
    /// its Bing thumbnail proxy.
    pub thumbnail: Option<String>,
}

impl DdgImage {
    /// A result with a full picture and a thumbnail.
    pub fn new(image: impl Into<String>, thumbnail: Option<String>) -> DdgImage {
        DdgImage {
            image: image.into(),
            thumbnail,
        }
    }
}

/// The fake's state: the tokens it handed out, its results, its script.
struct DdgState {
    /// The base URL, which the `Referer` of `i.js` must start with.
    base: Mutex<String>,
    /// `(q, User-Agent)` to the `vqd` handed out for them.
    tokens: Mutex<HashMap<(String, String), String>>,
    results: Mutex<Vec<DdgImage>>,
    /// Answers given to the next `i.js` requests that pass every rule,
    /// before the results (202, 418, 429... to throttle).
    script: Mutex<VecDeque<Reply>>,
}

/// A DuckDuckGo image search: `GET /?q=` gives the page with the `vqd`
/// token, `GET /i.js` the JSON results. Every request breaking a rule gets
/// the real 403.
pub struct FakeDuckDuckGo {
    http: FakeHttp,
    state: Arc<DdgState>,
}

impl FakeDuckDuckGo {
    /// Starts one on 127.0.0.1 answering `results`.
    pub async fn start(results: Vec<DdgImage>) -> FakeDuckDuckGo {
        let state = Arc::new(DdgState {
            base: Mutex::new(String::new()),
            tokens: Mutex::new(HashMap::new()),
            results: Mutex::new(results),
            script: Mutex::new(VecDeque::new()),
        });
        let page_state = Arc::clone(&state);
        let results_state = Arc::clone(&state);
        let http = FakeHttp::builder()
            .route("/", Reply::handler(move |r| ddg_page(&page_state, r)))
            .route(
                "/i.js",
                Reply::handler(move |r| ddg_results(&results_state, r)),
            )
            .start()
            .await;
        *lock(&state.base) = http.base();
        FakeDuckDuckGo { http, state }
    }

    /// The HTTP server underneath: its request log, and routes of its own
    /// (result pictures can live on it).
    pub fn http(&self) -> &FakeHttp {
        &self.http
    }

    /// `http://127.0.0.1:PORT`, for `--search-url`.
    pub fn base(&self) -> String {
        self.http.base()
    }

    /// Replaces the results.
    pub fn set_results(&self, results: Vec<DdgImage>) {
        *lock(&self.state.results) = results;
    }

    /// Answers the next `i.js` requests that pass every rule with these,
    /// in order, before the results again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state.script).extend(replies);
    }
}

/// Whether a User-Agent is a browser's. SearXNG's DuckDuckGo engine says
/// the vqd is formed with the User-Agent and that "certain UA headers
/// (such as curl)" are filtered (searx/engines/duckduckgo.py, module
/// docstring, @9fea412); every maintained client sends a browser's: ddgs
/// impersonates one through primp (ddgs/http_client.py, `impersonate=
/// "random"`, @a97a4fc), SearXNG picks one from its list of Firefox UAs
/// (searx/data/useragents.json, `gen_useragent`). Browsers all send the
/// `Mozilla/5.0 (` prefix.
fn is_browser(request: &Request) -> bool {
    request
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("Mozilla/5.0 (") && !ua.contains("compatible;"))
}

/// A vqd token for `(q, User-Agent)`: `4-` and decimals, as tokens quoted
/// in public issues look (ddgs issues 84 and 264:
/// `4-127388145370558534196193019016331789945`).
fn token_for(q: &str, user_agent: &str) -> String {
    let mut hasher = DefaultHasher::new();
    (q, user_agent).hash(&mut hasher);
    let first = hasher.finish();
    user_agent.hash(&mut hasher);
    format!("4-{first}{}", hasher.finish())
}

/// The search page.
fn ddg_page(state: &DdgState, request: &Request) -> Reply {
    // Rule: a browser User-Agent (see `is_browser`).
    if !is_browser(request) {
        return ddg_forbidden();
    }
    let q = request.param("q").unwrap_or_default();
    if q.is_empty() {
        // ddgs and SearXNG only ever ask the page with a query; DDG's own
        // home page carries no token (searx/engines/duckduckgo_extra.py
        // `fetch_vqd` fails without one).
        return Reply::ok("text/html", "<html><body>DuckDuckGo</body></html>").compressed();
    }
    // Rule: SearXNG never sends a query of 500 characters or more, since
    // "DDG does not accept queries with more than 499 chars"
    // (searx/engines/duckduckgo.py @9fea412); DDG's status for one is not
    // known, so this fake refuses it as it refuses everything else.
    if q.chars().count() > 499 {
        return ddg_forbidden();
    }
    // Rule: the token is bound to the query AND the User-Agent: SearXNG
    // caches it under `query//User-Agent` and pins one UA per process "to
    // be able to reuse the vqd value" (searx/engines/duckduckgo.py
    // `set_vqd`/`get_vqd`, duckduckgo_extra.py `request`, @9fea412; PR
    // 6658: a cached vqd "was only valid for the given UA value").
    let user_agent = request.header("user-agent").unwrap_or_default().to_string();
    let token = token_for(&q, &user_agent);
    lock(&state.tokens).insert((q, user_agent), token.clone());
    // The token in its double-quoted spelling, the one every client reads
    // (ddgs/utils.py `_extract_vqd`, searx duckduckgo_extra.py `fetch_vqd`).
    Reply::ok(
        "text/html; charset=UTF-8",
        format!("<html><head><script>DDG.deep.initialize('/d.js?q=x',vqd=\"{token}\");</script></head><body></body></html>"),
    )
    .compressed()
}

/// The JSON results.
fn ddg_results(state: &DdgState, request: &Request) -> Reply {
    // Rule: a browser User-Agent (see `is_browser`).
    if !is_browser(request) {
        return ddg_forbidden();
    }
    // Rule: `o=json` (ddgs `duckduckgo_images.py` `build_payload`, searx
    // `duckduckgo_extra.request`: every client sends it).
    if request.param("o").as_deref() != Some("json") {
        return ddg_forbidden();
    }
    let q = request.param("q").unwrap_or_default();
    // Rule: no query of 500 characters or more (see `ddg_page`).
    if q.is_empty() || q.chars().count() > 499 {
        return ddg_forbidden();
    }
    // Rule: the vqd handed out for this query to this User-Agent (see
    // `ddg_page`); a follow-up without it "would lead to an immediate
    // blocking" (searx/engines/duckduckgo.py docstring).
    let user_agent = request.header("user-agent").unwrap_or_default().to_string();
    let expected = lock(&state.tokens).get(&(q.clone(), user_agent)).cloned();
    if expected.is_none() || request.param("vqd") != expected {
        return ddg_forbidden();
    }
    // Rule: a Referer on duckduckgo.com: required since ddgs issue 12
    // (2022-08-15, "DDG now requires" it), fixed in ddgs 8079f6c; every
    // client since sends `https://duckduckgo.com/` (ddgs 87fb83a, searx
    // duckduckgo_extra.py). Here: the fake's own base URL.
    let base = lock(&state.base).clone();
    if !request
        .header("referer")
        .is_some_and(|r| r.starts_with(&base))
    {
        return ddg_forbidden();
    }
    // Rule: Accept-Encoding offering gzip or deflate: i.js answered 403
    // until ddgs added `Accept-Encoding` (ddgs issue 136, 2023-11-24,
    // fixed by edbcced and 8349f9d; the same cure in idena-web PR 437).
    let offered = offered_encodings(request.header("accept-encoding"));
    if !offered.iter().any(|c| c == "gzip" || c == "deflate") {
        return ddg_forbidden();
    }
    // Rule: Sec-Fetch-Mode, when sent, says `cors`, as the XHR i.js is: the
    // ddgs fix of its images "403 Ratelimit" (issue 309, commit 86b0d3a)
    // replaced the client's default `navigate` with `cors`. Left out, it
    // passes: SearXNG's i.js sends no Sec-Fetch headers (029b74e4f).
    if request
        .header("sec-fetch-mode")
        .is_some_and(|mode| !mode.eq_ignore_ascii_case("cors"))
    {
        return ddg_forbidden();
    }
    // Not checked, as no source shows DDG refusing them: Accept (clients
    // send `*/*`), Accept-Language (SearXNG PR 6188 drops it, ddgs sends
    // it), `l`, `p`, `f`, `s`, `ct`.
    if let Some(scripted) = lock(&state.script).pop_front() {
        return scripted;
    }
    let results = lock(&state.results).clone();
    Reply::ok(
        "application/x-javascript; charset=UTF-8",
        results_json(&q, &results),
    )
    .compressed()
}

/// An `i.js` answer in the real shape (ddgs `ddgs/results.py`
/// `ImagesResult`; searx duckduckgo_extra.py `_image_result`): `results`
/// with the original's size, URLs, tokens, source and title; `next` for a
/// following page.
pub fn results_json(q: &str, results: &[DdgImage]) -> String {
    let items: Vec<serde_json::Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut item = serde_json::json!({
                "height": 1080,
                "width": 1920,
                "image": r.image,
                "image_token": format!("{i:040x}"),
                "source": "Bing",
                "thumbnail_token": format!("{:040x}", i + 1000),
                "title": format!("result {i}"),
                "url": format!("{}/page/{i}", r.image),
            });
            if let Some(thumbnail) = &r.thumbnail {
                item["thumbnail"] = serde_json::Value::String(thumbnail.clone());
            }
            item
        })
        .collect();
    serde_json::json!({
        "ads": null,
        "next": format!("i.js?q={q}&o=json&p=1&s=100&u=bing&l=us-en"),
        "query": q,
        "queryEncoded": q,
        "response_type": "images",
        "results": items,
    })
    .to_string()
}

// ---------------------------------------------------------------------------
// SearXNG

/// Werkzeug's default 403 page, which SearXNG answers when the format is
/// not enabled (searx/webapp.py `search`: `flask.abort(403)`, no custom
/// handler for 403), byte for byte as werkzeug 3.1 writes it.
pub const SEARXNG_FORBIDDEN_BODY: &str = "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n<p>You don&#39;t have the permission to access the requested resource. It is either read-protected or not readable by the server.</p>\n";

/// The body of every limiter refusal: searx/botdetection/_helpers.py
/// `too_many_requests` makes `('Too Many Requests', 429)`.
pub const SEARXNG_TOO_MANY_BODY: &str = "Too Many Requests";

/// How a fake SearXNG instance is set up.
#[derive(Debug, Clone)]
pub struct SearxngSettings {
    /// `search.formats` includes json (the default settings.yml has only
    /// html).
    pub json: bool,
    /// `server.limiter: true` (off in the default settings.yml).
    pub limiter: bool,
    /// `[botdetection.ip_lists] pass_ip`: addresses the limiter lets
    /// through unchecked.
    pub pass_ip: Vec<IpAddr>,
    /// Where the instance is mounted (`/` or `/searx/`).
    pub mount: String,
}

impl Default for SearxngSettings {
    /// An instance set up as docs/configuration.md asks: JSON enabled, the
    /// limiter on, no pass_ip.
    fn default() -> SearxngSettings {
        SearxngSettings {
            json: true,
            limiter: true,
            pass_ip: Vec::new(),
            mount: String::from("/"),
        }
    }
}

/// One image result of the fake SearXNG.
#[derive(Debug, Clone)]
pub struct SearxngImage {
    /// `img_src` ("" for a result that is not an image).
    pub img_src: String,
    /// `thumbnail_src`.
    pub thumbnail_src: Option<String>,
}

struct SearxngState {
    settings: SearxngSettings,
    results: Mutex<Vec<SearxngImage>>,
    /// Per network, when its requests came (for the limiter's windows).
    seen: Mutex<HashMap<IpAddr, Vec<(Instant, bool)>>>,
}

/// A SearXNG instance's `/search`.
pub struct FakeSearxng {
    http: FakeHttp,
    state: Arc<SearxngState>,
}

impl FakeSearxng {
    /// Starts one on 127.0.0.1.
    pub async fn start(settings: SearxngSettings, results: Vec<SearxngImage>) -> FakeSearxng {
        let path = format!("{}/search", settings.mount.trim_end_matches('/'));
        let state = Arc::new(SearxngState {
            settings,
            results: Mutex::new(results),
            seen: Mutex::new(HashMap::new()),
        });
        let handler_state = Arc::clone(&state);
        let http = FakeHttp::builder()
            .route(
                &path,
                Reply::handler(move |r| searxng_search(&handler_state, r)),
            )
            .start()
            .await;
        FakeSearxng { http, state }
    }

    /// The HTTP server underneath.
    pub fn http(&self) -> &FakeHttp {
        &self.http
    }

    /// The instance's URL, for `--searxng-url`.
    pub fn url(&self) -> String {
        self.http.url(&self.state.settings.mount)
    }

    /// Replaces the results.
    pub fn set_results(&self, results: Vec<SearxngImage>) {
        *lock(&self.state.results) = results;
    }
}

/// The limiter's network of a client: IPv4 /32, IPv6 /48
/// (searx/limiter.toml `ipv4_prefix = 32`, `ipv6_prefix = 48`).
fn limiter_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !(u128::MAX >> 48);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// Whether the User-Agent is a bot's by SearXNG's list: a missing header
/// counts as `unknown`, and the list is matched with `re.match`, so at
/// the start of the value, except PetalBot, matched anywhere
/// (searx/botdetection/http_user_agent.py `USER_AGENT`, @9fea412).
fn is_bot(user_agent: Option<&str>) -> bool {
    let ua = user_agent.unwrap_or("unknown");
    const PREFIXES: &[&str] = &[
        "unknown",
        "Scrapy",
        "splash",
        "JavaFX",
        "FeedFetcher",
        "python-requests",
        "Go-http-client",
        "Java",
        "Jakarta",
        "okhttp",
        "HttpClient",
        "Jersey",
        "Python",
        "libwww-perl",
        "Ruby",
        "SynHttpClient",
        "UniversalFeedParser",
        "Googlebot",
        "GoogleImageProxy",
        "bingbot",
        "Baiduspider",
        "yacybot",
        "YandexMobileBot",
        "YandexBot",
        "Yahoo! Slurp",
        "MJ12bot",
        "AhrefsBot",
        "msnbot",
        "SeznamBot",
        "linkdexbot",
        "Netvibes",
        "SMTBot",
        "zgrab",
        "James BOT",
        "Sogou",
        "Abonti",
        "Pixray",
        "Spinn3r",
        "SemrushBot",
        "Exabot",
        "ZmEu",
        "BLEXBot",
        "bitlybot",
        "HeadlessChrome",
        "Mozilla/5.0 (compatible; Farside/0.1.0; +https://farside.link)",
    ];
    // `[Cc][Uu][Rr][Ll]` and `[wW]get`; `archive.org_bot` with `.` as any
    // character.
    let lower = ua.to_ascii_lowercase();
    PREFIXES.iter().any(|p| ua.starts_with(p))
        || lower.starts_with("curl")
        || ua.starts_with("wget")
        || ua.starts_with("Wget")
        || (ua.starts_with("archive") && ua.get(8..15) == Some("org_bot"))
        || ua.contains("PetalBot")
}

/// Whether Werkzeug finds `text/html` in the Accept header
/// (`'text/html' in request.accept_mimetypes`, the test of
/// searx/botdetection/http_accept.py): a missing header holds nothing;
/// `*/*`, `*` and `text/*` match it, whatever their weight.
fn accepts_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|value| {
        value.split(',').any(|item| {
            let media = item.split(';').next().unwrap_or_default().trim();
            let media = media.to_ascii_lowercase();
            matches!(media.as_str(), "text/html" | "text/*" | "*/*" | "*")
        })
    })
}

/// The limiter's verdict on a `/search` request; `None`: let through.
fn limiter(state: &SearxngState, request: &Request, json: bool) -> Option<Reply> {
    let too_many = || {
        Some(Reply::status(
            429,
            "text/html; charset=utf-8",
            SEARXNG_TOO_MANY_BODY,
        ))
    };
    let peer = request.peer.ip();
    // Rule: pass_ip lets an address through every check
    // (searx/limiter.py `filter_request`, before all methods).
    if state.settings.pass_ip.contains(&peer) {
        return None;
    }
    // Rules for /search, in the order searx/limiter.py applies them, each
    // refusal a 429 (searx/botdetection/*.py @9fea412):
    // http_accept.py: `text/html` must be in the Accept header (Werkzeug's
    // test, `accepts_html`).
    if !accepts_html(request.header("accept")) {
        return too_many();
    }
    // http_accept_encoding.py: the header split on `,` and trimmed must
    // hold an item that is exactly `gzip` or `deflate` (so `gzip;q=1.0`
    // does not count, nor does a missing header).
    if !request
        .header_items("accept-encoding")
        .iter()
        .any(|item| item == "gzip" || item == "deflate")
    {
        return too_many();
    }
    // http_accept_language.py: Accept-Language missing or blank.
    if request
        .header("accept-language")
        .is_none_or(|v| v.trim().is_empty())
    {
        return too_many();
    }
    // http_user_agent.py: bots by their User-Agent (`is_bot`).
    if is_bot(request.header("user-agent")) {
        return too_many();
    }
    // http_sec_fetch.py checks only https requests from browsers; this
    // fake speaks plain http, so, like the real one here, it does not.
    //
    // ip_limit.py: per network, more than 15 requests in 20 s (BURST) or
    // 150 in 600 s (LONG), or more than 4 API (non-html) requests in an
    // hour (API_WINDOW, API_MAX).
    let now = Instant::now();
    let mut seen = lock(&state.seen);
    let history = seen.entry(limiter_network(peer)).or_default();
    history.retain(|(at, _)| now.duration_since(*at) < Duration::from_secs(3600));
    history.push((now, json));
    let within = |window: u64| {
        history
            .iter()
            .filter(|(at, _)| now.duration_since(*at) < Duration::from_secs(window))
            .count()
    };
    let api = history.iter().filter(|(_, api)| *api).count();
    if within(20) > 15 || within(600) > 150 || (json && api > 4) {
        return too_many();
    }
    None
}

fn searxng_search(state: &SearxngState, request: &Request) -> Reply {
    let format = request
        .param("format")
        .unwrap_or_else(|| String::from("html"));
    // An unknown format is taken as html (searx/webapp.py `search`:
    // `if output_format not in OUTPUT_FORMATS: output_format = 'html'`).
    let format = match format.as_str() {
        "json" | "csv" | "rss" | "html" => format,
        _ => String::from("html"),
    };
    // Rule: the limiter, when on, runs before the search itself
    // (searx/limiter.py `pre_request`), so it refuses first.
    if state.settings.limiter
        && let Some(refusal) = limiter(state, request, format != "html")
    {
        return refusal;
    }
    // Rule: a format not in `search.formats` → abort(403), Werkzeug's page
    // (searx/webapp.py `search`; docs/dev/search_api.rst: "Requesting an
    // unset format will return a 403 Forbidden error").
    let enabled = format == "html" || (format == "json" && state.settings.json);
    if !enabled {
        return Reply::status(403, "text/html; charset=utf-8", SEARXNG_FORBIDDEN_BODY);
    }
    let q = request.param("q").unwrap_or_default();
    if format == "html" {
        return Reply::ok(
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><body>results page</body></html>",
        );
    }
    // Rule: no query → 400 `{"error": "No query"}` for a non-html format
    // (searx/webapp.py `search` → `index_error`).
    if q.is_empty() {
        return Reply::status(400, "application/json", r#"{"error": "No query"}"#);
    }
    let results = lock(&state.results).clone();
    Reply::json(searxng_json(&q, &results))
}

/// A JSON answer in the real shape (searx/webutils.py `get_json_response`;
/// result keys from searx/result_types/_base.py `LegacyResult`, images
/// from duckduckgo_extra.py `_image_result`), with an engine that did not
/// answer, as instances often report.
fn searxng_json(q: &str, results: &[SearxngImage]) -> String {
    let items: Vec<serde_json::Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::json!({
                "url": format!("http://127.0.0.1:9/page/{i}"),
                "title": format!("result {i}"),
                "content": "",
                "template": if r.img_src.is_empty() { "default.html" } else { "images.html" },
                "engine": "duckduckgo images",
                "parsed_url": ["http", "127.0.0.1:9", format!("/page/{i}"), "", "", ""],
                "img_src": r.img_src,
                "thumbnail_src": r.thumbnail_src.clone().unwrap_or_default(),
                "thumbnail": "",
                "resolution": "1920 x 1080",
                "source": "Bing",
                "priority": "",
                "engines": ["duckduckgo images"],
                "positions": [i + 1],
                "score": 1.0,
                "category": "images",
                "publishedDate": null,
            })
        })
        .collect();
    serde_json::json!({
        "query": q,
        "results": items,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [],
        "unresponsive_engines": [["google images", "timeout"]],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_are_told_by_the_start_of_their_user_agent() {
        for bot in [
            None,
            Some("curl/8.5.0"),
            Some("CURL/1"),
            Some("python-requests/2.31"),
            Some("Go-http-client/1.1"),
            Some("Wget/1.21"),
            Some(
                "Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
            ),
        ] {
            assert!(is_bot(bot), "{bot:?}");
        }
        for person in [
            Some("yail-server/0.1.0"),
            Some("reqwest/0.13"),
            Some(""),
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"),
        ] {
            assert!(!is_bot(person), "{person:?}");
        }
    }

    #[test]
    fn werkzeug_finds_text_html_through_wildcards_only() {
        assert!(!accepts_html(None));
        assert!(!accepts_html(Some("application/json")));
        for ok in [
            "*/*",
            "text/*",
            "application/json, */*;q=0.5",
            "*/*;q=0",
            "text/html",
        ] {
            assert!(accepts_html(Some(ok)), "{ok}");
        }
    }

    #[test]
    fn the_limiter_counts_ipv6_by_its_48() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:2::1".parse().unwrap();
        assert_eq!(limiter_network(a), limiter_network(b));
        assert_ne!(limiter_network(a), limiter_network(c));
    }
}
