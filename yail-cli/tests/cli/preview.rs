//! `yail preview`: every mode's screen, its proportions, and what is not a packet.

use crate::*;

/// Size of each concrete mode's preview: the screen at the monitor's
/// proportions (VBXE hi-res pixels are twice as tall as wide).
fn screen(mode: GfxMode) -> (u32, u32) {
    match mode {
        GfxMode::VbxeHiRes => (640, 480),
        GfxMode::Vbxe | GfxMode::VbxeLegacy => (320, 240),
        _ => (320, 220),
    }
}

#[test]
fn preview_of_every_mode_writes_a_png_of_the_screen_size_times_the_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = std::fs::read(photos_dir().join("chelsea.png")).expect("photo");
    let converter = Converter::new();
    for mode in GfxMode::ALL.into_iter().filter(|m| *m != GfxMode::Random) {
        let packet = converter
            .convert(&photo, &Settings::new(mode))
            .expect("convert");
        let path = dir.path().join(format!("{mode}.yai"));
        std::fs::write(&path, packet.to_bytes()).expect("write");
        let png = dir.path().join(format!("{mode}-preview.png"));
        let output = yail()
            .arg("preview")
            .arg(&path)
            .arg("-o")
            .arg(&png)
            .args(["--scale", "2", "--tv", "pal"])
            .output()
            .expect("run yail");
        assert!(output.status.success(), "{mode}: {}", text(&output.stderr));
        let (width, height) = screen(mode);
        assert_eq!(png_size(&png), (width * 2, height * 2), "{mode}");
        let line = text(&output.stdout);
        assert!(line.contains(mode.name()), "{line}");
    }
}

#[test]
fn preview_of_vbxe_hi_res_is_not_squashed_to_half_height() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = std::fs::read(photos_dir().join("chelsea.png")).expect("photo");
    let packet = Converter::new()
        .convert(&photo, &Settings::new(GfxMode::VbxeHiRes))
        .expect("convert");
    let path = dir.path().join("cat.yai");
    std::fs::write(&path, packet.to_bytes()).expect("write");
    let output = yail().arg("preview").arg(&path).output().expect("run yail");
    assert_success(&output);
    // 640 pixels across, each twice as tall as wide: 640x480, 4:3 like
    // every other mode's preview, not 640x240.
    let png = dir.path().join("cat.png");
    assert_eq!(png_size(&png), (640, 480));
    assert!(text(&output.stdout).contains("vbxe-hr 640x480"));

    // Each row of the screen is drawn twice.
    let picture = yail_core::decode(&std::fs::read(&png).expect("png"), &Default::default())
        .expect("decode the preview")
        .to_rgb();
    let rows: Vec<&[u8]> = picture.data().chunks_exact(640 * 3).collect();
    assert!(rows.chunks_exact(2).all(|pair| pair[0] == pair[1]));
    assert!(
        rows.windows(2).any(|pair| pair[0] != pair[1]),
        "a real picture"
    );
}

#[test]
fn preview_of_a_picture_says_to_use_convert() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["rocket.jpg", "horse.png"] {
        let output = yail()
            .arg("preview")
            .arg(photos_dir().join(name))
            .arg("-o")
            .arg(dir.path().join("x.png"))
            .output()
            .expect("run yail");
        let stderr = assert_exit(&output, 1);
        assert!(stderr.contains("yail convert"), "{stderr}");
        let format = if name.ends_with("jpg") { "JPEG" } else { "PNG" };
        assert!(stderr.contains(&format!("a {format} picture")), "{stderr}");
        assert!(!dir.path().join("x.png").exists());
    }
}

#[test]
fn preview_refuses_out_with_several_packets_and_reports_bad_packets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.yai");
    std::fs::write(&junk, b"OK: ACK!\r\n").expect("write");
    let error = dir.path().join("error.yai");
    std::fs::write(
        &error,
        Packet::error(GfxMode::Gr8, "no pictures").to_bytes(),
    )
    .expect("write");

    let output = yail()
        .arg("preview")
        .args([&junk, &error])
        .args(["-o", "x.png"])
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(2), "a usage error");

    let output = yail()
        .arg("preview")
        .args([&junk, &error])
        .output()
        .expect("run yail");
    let stderr = assert_exit(&output, 1);
    assert!(stderr.contains("not a YAIL packet"), "{stderr}");
    assert!(stderr.contains("no pictures"), "{stderr}");
}
