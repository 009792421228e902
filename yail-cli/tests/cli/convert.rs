//! `yail convert`: folders, broken and missing pictures, timings.

use crate::*;

/// The JSON lines `--timings` printed, in order.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    text(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn convert_a_folder_with_a_broken_picture_converts_the_good_ones_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pictures = dir.path().join("pictures");
    std::fs::create_dir_all(pictures.join("more")).expect("mkdir");
    std::fs::copy(photos_dir().join("horse.png"), pictures.join("horse.png")).expect("copy");
    std::fs::copy(
        photos_dir().join("rocket.jpg"),
        pictures.join("more/rocket.jpg"),
    )
    .expect("copy");
    std::fs::write(
        pictures.join("broken.jpg"),
        b"\xFF\xD8\xFF not really a JPEG",
    )
    .expect("write");
    std::fs::write(pictures.join("notes.txt"), b"not a picture").expect("write");
    let out = dir.path().join("out");

    let output = yail()
        .args(["convert", "--gfx", "gr9", "--png", "--jobs", "2", "-o"])
        .arg(&out)
        .arg(&pictures)
        .output()
        .expect("run yail");
    let stderr = assert_exit(&output, 1);
    assert!(stderr.contains("broken.jpg"), "{stderr}");
    assert!(stderr.contains("converted 2 of 3 pictures"), "{stderr}");
    for name in ["horse.png", "more/rocket.jpg"] {
        let packet = read_packet(&out.join(format!("{name}.yai")));
        assert_eq!(packet.mode(), GfxMode::Gr9, "{name}");
        assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
        let preview = out.join(format!("{name}.yai")).with_extension("png");
        assert_eq!(png_size(&preview), (320, 220), "{name}");
    }
    assert!(!out.join("broken.jpg.yai").exists());
    assert!(
        !out.join("notes.txt.yai").exists(),
        "not in the extension list"
    );
}

#[test]
fn convert_timings_come_in_input_order_as_json_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = [
        photos_dir().join("text.png"),
        photos_dir().join("horse.png"),
    ];
    let output = yail()
        .args(["convert", "--jobs", "2", "--timings", "-o"])
        .arg(dir.path())
        .args(&inputs)
        .arg(dir.path().join("missing.png"))
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 3);
    for (line, input) in lines.iter().zip(&inputs) {
        assert_eq!(line["input"], input.display().to_string());
        assert!(line["ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    }
}

#[test]
fn convert_timings_give_a_missing_file_its_json_error_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.jpg");
    let photo = photos_dir().join("horse.png");
    let output = yail()
        .args(["convert", "--timings", "-o"])
        .arg(dir.path())
        .arg(&missing)
        .arg(&photo)
        .output()
        .expect("run yail");
    assert_exit(&output, 1);
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 2, "one line per path, in order: {lines:?}");
    assert_eq!(lines[0]["input"], missing.display().to_string());
    let error = lines[0]["error"].as_str().expect("an error text");
    assert!(error.contains("No such file"), "{error}");
    assert!(lines[0].get("ms").is_none());
    assert_eq!(lines[1]["input"], photo.display().to_string());
    assert!(lines[1]["ms"].as_f64().is_some());
}

#[test]
fn convert_of_an_empty_folder_says_so_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = yail()
        .arg("convert")
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no pictures found"));
}
