//! The pages in a real browser: headless Chromium loads them from the
//! admin server while a test client streams pictures, and the test reads
//! the DOM the page's script built.
//!
//! Chromium runs with `--dump-dom` and a virtual-time budget, which lets
//! the page's timers, fetches and image loads run before the DOM is
//! printed. Without Chromium the tests skip, except under CI (`CI=true`),
//! where a missing browser is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use yail_server::AdminOptions;

use crate::support::Servers;

/// How long one Chromium run may take before it is killed.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(90);

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// The browser, or `None` (with a message) when the test should skip.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !in_ci,
            "CI=true but Chromium is missing: apt-get install -y chromium"
        );
        eprintln!("SKIPPED {test}: Chromium not found (apt-get install chromium to run it)");
    }
    found
}

/// Runs headless Chromium on `url` with `extra` arguments and returns its
/// standard output, killing it after [`CHROMIUM_LIMIT`].
fn run_chromium(browser: &Path, url: &str, extra: &[&str]) -> String {
    let profile = std::env::temp_dir().join(format!(
        "yail-admin-chromium-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = reader.join().unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    out
}

fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The DOM of `url` once `ready` holds for it, trying a few times (each
/// run lets the page poll the API for a few virtual seconds).
async fn dom_when(browser: &Path, url: String, ready: impl Fn(&str) -> bool) -> String {
    dom_in_window(browser, url, None, ready).await
}

/// [`dom_when`] in a window `width` pixels wide (Chromium's default
/// without one).
async fn dom_in_window(
    browser: &Path,
    url: String,
    width: Option<u32>,
    ready: impl Fn(&str) -> bool,
) -> String {
    let mut dom = String::new();
    for _ in 0..4 {
        let (browser, url) = (browser.to_path_buf(), url.clone());
        let window = width.map(|w| format!("--window-size={w},900"));
        dom = tokio::task::spawn_blocking(move || {
            let mut extra = vec!["--dump-dom", "--virtual-time-budget=8000"];
            extra.extend(window.as_deref());
            run_chromium(&browser, &url, &extra)
        })
        .await
        .expect("chromium thread");
        if ready(&dom) {
            return dom;
        }
    }
    dom
}

/// The opening tags of `tag` elements that carry `marker`.
fn tags_with<'a>(dom: &'a str, tag: &str, marker: &str) -> Vec<&'a str> {
    dom.match_indices(&format!("<{tag} "))
        .filter_map(|(at, _)| dom[at..].find('>').map(|end| &dom[at..at + end]))
        .filter(|t| t.contains(marker))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_a_streaming_session_and_its_pictures() {
    let Some(browser) = browser_or_skip("dashboard_shows_a_streaming_session_and_its_pictures")
    else {
        return;
    };
    let servers = Servers::start(None).await;
    let (mut client, _) = servers.client(4).await;
    let session_id = servers.state.sessions()[0].id;
    // The client keeps streaming while the browser watches.
    let streaming = tokio::spawn(async move {
        loop {
            if client.request("next").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });

    let marker = format!("data-session=\"{session_id}\"");
    let ready = |dom: &str| {
        dom.split(marker.as_str()).nth(1).is_some_and(|row| {
            row.split("</tr>")
                .next()
                .is_some_and(|row| row.contains("data-loaded=\"1\""))
        }) && !tags_with(dom, "figure", "class=\"recent\"").is_empty()
            && tags_with(dom, "img", "data-loaded=\"1\"").len() >= 2
    };
    let dom = dom_when(&browser, format!("http://{}/", servers.admin), ready).await;
    // The screenshot in docs/admin.md: YAIL_ADMIN_SCREENSHOT=docs/admin-dashboard.png
    if let Ok(path) = std::env::var("YAIL_ADMIN_SCREENSHOT") {
        // Relative paths are taken from the workspace root.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path);
        let url = format!("http://{}/", servers.admin);
        let shot = format!("--screenshot={}", path.display());
        tokio::task::spawn_blocking(move || {
            run_chromium(
                &browser,
                &url,
                &[
                    &shot,
                    "--window-size=1280,1000",
                    "--virtual-time-budget=6000",
                ],
            )
        })
        .await
        .expect("chromium thread");
        assert!(path.is_file(), "screenshot written to {}", path.display());
    }
    streaming.abort();
    assert!(
        ready(&dom),
        "the page never showed the session with its picture:\n{dom}"
    );

    let row = dom
        .split(marker.as_str())
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("the row");
    assert!(row.contains("127.0.0.1:"), "the peer is shown: {row}");
    assert!(
        row.contains("gr9") && row.contains("files"),
        "mode and source shown: {row}"
    );
    let thumbnails = tags_with(&dom, "img", "/api/recent/");
    assert!(
        !thumbnails.is_empty() && thumbnails.iter().any(|t| t.contains("data-loaded=\"1\"")),
        "{dom}"
    );
    assert!(dom.contains("Connected now") && dom.contains("Pictures sent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_page_shows_an_upload_in_every_mode_with_packet_links() {
    let Some(browser) = browser_or_skip("try_page_shows_an_upload_in_every_mode_with_packet_links")
    else {
        return;
    };
    let servers = Servers::start(None).await;
    // `#sample` makes the page upload the sample picture through the same
    // code path as a picked file.
    let ready = |dom: &str| {
        let figures = tags_with(dom, "figure", "class=\"try-mode\"");
        figures.len() == 8 && tags_with(dom, "img", "data-loaded=\"1\"").len() == 8
    };
    let dom = dom_when(
        &browser,
        format!("http://{}/try#sample", servers.admin),
        ready,
    )
    .await;
    assert!(ready(&dom), "the page never showed eight modes:\n{dom}");
    for name in [
        "gr8",
        "gr9",
        "gr15",
        "gr11",
        "gr10",
        "vbxe",
        "vbxe-legacy",
        "vbxe-hr",
    ] {
        assert!(
            dom.contains(&format!("data-mode=\"{name}\"")),
            "{name} missing"
        );
    }
    let links = tags_with(&dom, "a", "class=\"packet\"");
    assert_eq!(links.len(), 8, "{links:?}");
    assert!(
        links
            .iter()
            .all(|l| l.contains("download") && l.contains(".yail"))
    );
    assert!(dom.contains("Done."));
}

/// A number the page's script notes on the root element: `data-scroll-width`
/// (the content's width) or `data-window-width`.
fn root_number(dom: &str, attribute: &str) -> Option<u32> {
    let tag = tags_with(dom, "html", attribute).into_iter().next()?;
    tag.split(&format!("{attribute}=\""))
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()
}

fn scroll_width(dom: &str) -> Option<u32> {
    root_number(dom, "data-scroll-width")
}

/// Headless Chromium makes no window narrower than 500 px: a phone's
/// width as near as it comes. The page's narrow layout applies to every
/// width up to 600 px.
const NARROWEST_WINDOW: u32 = 500;

/// Asserts the page, in the narrowest window, is no wider than it.
fn assert_fits_the_window(dom: &str) {
    let window = root_number(dom, "data-window-width").expect("the window's width");
    let width = scroll_width(dom).expect("the page's width");
    assert!(window <= NARROWEST_WINDOW, "a {window} px window");
    assert!(
        width <= window,
        "the page is {width} px wide in a {window} px window"
    );
}

/// The element of `tag` whose opening tag carries `marker`, whole.
fn element_with<'a>(dom: &'a str, tag: &str, marker: &str) -> Option<&'a str> {
    let start = dom.find(marker)?;
    let open = dom[..start].rfind(&format!("<{tag}"))?;
    let close = format!("</{tag}>");
    let end = dom[open..].find(&close)? + open + close.len();
    Some(&dom[open..end])
}

/// Servers whose admin page knows the address an Atari should use.
async fn servers_with_atari_address() -> Servers {
    Servers::start_with(AdminOptions {
        atari_address: Some(ATARI_ADDRESS.into()),
        ..AdminOptions::default()
    })
    .await
}

/// The address [`servers_with_atari_address`] gives the page.
const ATARI_ADDRESS: &str = "N:TCP://127.0.0.1:5556/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_dashboard_shows_the_atari_address_and_fits_a_narrow_window() {
    let Some(browser) =
        browser_or_skip("an_empty_dashboard_shows_the_atari_address_and_fits_a_narrow_window")
    else {
        return;
    };
    let servers = servers_with_atari_address().await;
    let url = format!("http://{}/", servers.admin);
    let ready = |dom: &str| dom.contains("N:TCP://127.0.0.1:5556/") && scroll_width(dom).is_some();
    let dom = dom_in_window(&browser, url, Some(NARROWEST_WINDOW), ready).await;
    assert!(ready(&dom), "no address shown:\n{dom}");
    let address = element_with(&dom, "p", "id=\"atari-address\"").expect("the address");
    assert!(!address.contains(" hidden"), "{address}");
    assert!(address.contains("<code class=\"address\">N:TCP://127.0.0.1:5556/</code>"));
    assert!(dom.contains("No Atari connected."));
    assert_fits_the_window(&dom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_with_a_session_fits_a_narrow_window_and_hides_the_address() {
    let Some(browser) =
        browser_or_skip("a_dashboard_with_a_session_fits_a_narrow_window_and_hides_the_address")
    else {
        return;
    };
    let servers = servers_with_atari_address().await;
    let (_client, _) = servers.client(4).await;
    // A long error in the sources table must wrap, not widen the page.
    servers.state.sources().record_error(
        "search",
        &format!("the search engine answered: {}", "x".repeat(300)),
    );
    let url = format!("http://{}/", servers.admin);
    let ready = |dom: &str| {
        dom.contains("data-session=") && dom.contains("xxxxxxxx") && scroll_width(dom).is_some()
    };
    let dom = dom_in_window(&browser, url, Some(NARROWEST_WINDOW), ready).await;
    assert!(ready(&dom), "the session never showed:\n{dom}");
    let address = element_with(&dom, "p", "id=\"atari-address\"").expect("the address");
    assert!(address.contains(" hidden"), "{address}");
    assert_fits_the_window(&dom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_page_shows_the_servers_message_for_a_picture_too_large() {
    let Some(browser) =
        browser_or_skip("try_page_shows_the_servers_message_for_a_picture_too_large")
    else {
        return;
    };
    let servers = Servers::start_with(AdminOptions {
        max_try_bytes: Some(1000),
        ..AdminOptions::default()
    })
    .await;
    let ready = |dom: &str| dom.contains("too large");
    let dom = dom_when(
        &browser,
        format!("http://{}/try#sample", servers.admin),
        ready,
    )
    .await;
    let status = element_with(&dom, "p", "id=\"try-status\"").unwrap_or_default();
    assert!(
        status.contains("class=\"err\"")
            && status.contains("the picture is too large")
            && status.contains("up to 1000 bytes")
            && !status.contains("JSON"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_pane_folds_repeated_lines_and_filters_by_level() {
    let Some(browser) = browser_or_skip("log_pane_folds_repeated_lines_and_filters_by_level")
    else {
        return;
    };
    let servers = Servers::start(None).await;
    let logs = servers.state.logs();
    logs.push("INFO", "yail_server::session", "request command=\"files\"");
    for port in 40000..40005 {
        logs.push(
            "WARN",
            "yail_server::refusal",
            &format!("refusing a connection peer=127.0.0.1:{port} reason=too many"),
        );
    }
    logs.push("DEBUG", "yail_server::session", "command Next");
    logs.push("ERROR", "yail_server::server", "accept failed");
    let ready = |dom: &str| dom.contains("accept failed");
    let dom = dom_when(
        &browser,
        format!("http://{}/logs?level=WARN", servers.admin),
        ready,
    )
    .await;
    assert!(ready(&dom), "the log never showed:\n{dom}");
    let lines = tags_with(&dom, "div", "data-level=");
    assert_eq!(lines.len(), 4, "five refusals fold into one: {lines:#?}");
    let warn = element_with(&dom, "div", "data-level=\"WARN\"").expect("the refusals");
    assert!(warn.contains("data-times=\"5\""), "{warn}");
    assert!(
        warn.contains("×5") && warn.contains("127.0.0.1:40004"),
        "{warn}"
    );
    assert!(!warn.contains(" hidden"), "{warn}");
    for hidden in ["INFO", "DEBUG"] {
        let line = tags_with(&dom, "div", &format!("data-level=\"{hidden}\""));
        assert!(
            line.len() == 1 && line[0].contains(" hidden"),
            "{hidden} hidden at WARN: {line:?}"
        );
    }
    let error = tags_with(&dom, "div", "data-level=\"ERROR\"");
    assert!(
        error.len() == 1 && !error[0].contains(" hidden"),
        "{error:?}"
    );
    assert!(dom.contains("data-filter=\"WARN\""), "the filter is WARN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_settings_page_shows_the_values_in_force_not_empty_fields() {
    let Some(browser) =
        browser_or_skip("regression_settings_page_shows_the_values_in_force_not_empty_fields")
    else {
        return;
    };
    let folder = std::env::temp_dir().join(format!("yail-settings-page-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let config = yail_server::Config {
        prefetch: false,
        workers: 2,
        gen_model: String::from("gpt-image-1.5"),
        allowed_models: vec![String::from("gemini-3-pro-image")],
        paths: vec![folder.clone()],
        searxng_url: Some(String::from("http://127.0.0.1:9/")),
        ..yail_server::Config::default()
    };
    let servers = Servers::start_configured(config, yail_server::AdminOptions::default()).await;
    let ready = |dom: &str| dom.contains("Changes last until the server stops");
    let dom = dom_when(
        &browser,
        format!("http://{}/settings", servers.admin),
        ready,
    )
    .await;
    assert!(ready(&dom), "the settings never loaded:\n{dom}");
    let model = tags_with(&dom, "input", "id=\"gen_model\"");
    assert!(
        model.iter().any(|t| t.contains("value=\"gpt-image-1.5\"")),
        "{model:?}"
    );
    let allowed = tags_with(&dom, "input", "id=\"allowed_models\"");
    assert!(
        allowed
            .iter()
            .any(|t| t.contains("value=\"gemini-3-pro-image\"")),
        "{allowed:?}"
    );
    assert!(
        dom.contains(&format!("{}</textarea>", folder.display())),
        "{dom}"
    );
    // Only the engines the server has can be chosen, the one in force selected.
    let engines = element_with(&dom, "select", "id=\"search_engine\"").expect("the engines");
    let options = tags_with(engines, "option", "value=");
    assert_eq!(options.len(), 2, "{options:?}");
    assert!(
        options
            .iter()
            .any(|o| o.contains("duckduckgo") && o.contains("selected"))
    );
    // The dump of the settings in force uses the flags' names.
    assert!(
        dom.contains("\"cache_mb\": 64") && !dom.contains("cache_bytes"),
        "{dom}"
    );
    let _ = std::fs::remove_dir_all(&folder);
}
