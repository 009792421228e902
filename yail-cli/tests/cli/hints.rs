//! Hints for a server that is not a YAIL server: the admin page's port.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_answering_at_once_gets_the_admin_port_hint() {
    use crate::web_server::{Judging, web_server};
    let addr = web_server(Judging::Eagerly).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "--timeout 20 files").await;
    let stderr = assert_exit(&output, 4);
    assert_eq!(
        stderr.matches("unknown packet version").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("web server"), "{stderr}");
    assert!(stderr.contains("admin page"), "{stderr}");
    assert!(stderr.contains("5556"), "names the YAIL port: {stderr}");

    let output = load(addr, "--clients 2 --images 1 --timeout 20").await;
    let stderr = assert_exit(&output, 1);
    assert!(
        stderr.contains("hint:") && stderr.contains("admin page"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_waiting_for_a_whole_line_gets_the_admin_port_hint() {
    use crate::web_server::{Judging, web_server};
    // An Atari's commands end without a line break, so a server that
    // reads whole lines says nothing; yail asks it directly after the wait.
    let addr = web_server(Judging::ByLine).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "--atari-errors --timeout 1 files").await;
    let stderr = assert_exit(&output, 3);
    assert!(stderr.contains("no packet within"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("admin page"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_answering_the_errors_line_gets_the_admin_port_hint() {
    use crate::web_server::{Judging, web_server};
    // `errors packets` is a whole line: the server answers 400 and closes,
    // so the writes after it may fail; what it sent is still read.
    let addr = web_server(Judging::ByLine).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "--timeout 5 files").await;
    let stderr = assert_exit(&output, 4);
    assert!(stderr.contains("unknown packet version"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("admin page"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_yail_server_gets_no_web_server_hint() {
    // A server that accepts and never answers is not taken for a web
    // server: the check asks it, and it does not answer HTTP.
    let addr = fake_server(Vec::new()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "--timeout 1 files").await;
    let stderr = assert_exit(&output, 3);
    assert!(!stderr.contains("hint:"), "{stderr}");
}
