//! Modes on the command line: names, GRAPHICS numbers and wire values, the same in every subcommand.

use crate::*;

#[test]
fn a_wrong_mode_is_a_usage_error() {
    let output = yail()
        .args(["convert", "--gfx", "gr99", "x.png"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gfx_numbers_are_basic_graphics_numbers_in_every_subcommand() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    // (GRAPHICS n, the mode it is)
    let graphics = [
        ("8", GfxMode::Gr8),
        ("9", GfxMode::Gr9),
        ("10", GfxMode::Gr10),
        ("11", GfxMode::Gr11),
        ("15", GfxMode::Gr15),
    ];
    for (number, mode) in graphics {
        // fetch: once asked for `gfx 8` on the wire, which is Graphics 11.
        let output = fetch(server.addr, dir.path(), &format!("--gfx {number} files")).await;
        assert_success(&output);
        let fetched = read_packet(&dir.path().join("picture-1.yai"));
        assert_eq!(fetched.mode(), mode, "fetch --gfx {number}");

        // convert
        let converted = dir.path().join(format!("converted-{number}"));
        let output = yail()
            .args(["convert", "--gfx", number, "-o"])
            .arg(&converted)
            .arg(photos_dir().join("horse.png"))
            .output()
            .expect("run yail");
        assert_success(&output);
        let packet = read_packet(&converted.join("horse.png.yai"));
        assert_eq!(packet.mode(), mode, "convert --gfx {number}");
    }

    // load reports the mode asked for by name and by wire value.
    let (output, report) = load_json(server.addr, "--clients 1 --images 1 --gfx 9").await;
    assert_success(&output);
    assert_eq!(report["mode"], "gr9", "{report}");
    assert_eq!(report["gfx"], 4, "{report}");

    // --random-modes takes the same spellings.
    let output = yail()
        .args(["convert", "--gfx", "random", "--random-modes", "15", "-o"])
        .arg(dir.path().join("random"))
        .arg(photos_dir().join("horse.png"))
        .output()
        .expect("run yail");
    assert_success(&output);
    let packet = read_packet(&dir.path().join("random/horse.png.yai"));
    assert_eq!(packet.mode(), GfxMode::Gr15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_values_are_asked_for_with_the_wire_prefix() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(server.addr, dir.path(), "--gfx wire:8 files").await;
    let stdout = text(&output.stdout);
    assert_success(&output);
    assert_eq!(
        read_packet(&dir.path().join("picture-1.yai")).mode(),
        GfxMode::Gr11
    );
    assert!(stdout.contains(" gr11 "), "wire 8 is Graphics 11: {stdout}");
}

#[test]
fn a_bare_wire_value_is_refused_with_the_spellings_to_use() {
    for command in [
        &["convert", "--gfx", "2", "x.png"][..],
        &["fetch", "--gfx", "2", "files"],
        &["load", "--gfx", "2"],
        &["convert", "--random-modes", "8,4", "x.png"],
    ] {
        let output = yail().args(command).output().expect("run");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("GRAPHICS number"), "{command:?}: {stderr}");
        assert!(stderr.contains("wire:"), "{command:?}: {stderr}");
    }
}
