//! `yail completions` and `yail man`.

use crate::*;

#[test]
fn completions_for_bash_cover_every_subcommand() {
    let output = yail().args(["completions", "bash"]).output().expect("run");
    assert!(output.status.success());
    let script = text(&output.stdout);
    assert!(script.contains("_yail()"), "a bash function");
    for word in [
        "convert",
        "preview",
        "fetch",
        "load",
        "--spread-sources",
        "--dialect",
    ] {
        assert!(script.contains(word), "{word}");
    }
}

#[test]
fn the_man_page_is_roff() {
    let output = yail().arg("man").output().expect("run");
    assert!(output.status.success());
    let page = text(&output.stdout);
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "{}",
        &page[..40.min(page.len())]
    );
    assert!(page.contains(".TH yail"), "a title line");
}

#[test]
fn bash_completion_of_gfx_offers_the_modes_not_file_names() {
    let script = yail().args(["completions", "bash"]).output().expect("run");
    assert!(script.status.success());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("yail.bash");
    std::fs::write(&path, &script.stdout).expect("write");
    // A file the completion must not offer for --gfx.
    std::fs::write(dir.path().join("gr-photo.jpg"), b"").expect("write");
    for (words, word) in [
        ("yail fetch --gfx ", ""),
        ("yail convert --gfx ", ""),
        ("yail load --gfx vbxe", "vbxe"),
    ] {
        // What bash does on TAB: COMP_WORDS, COMP_CWORD, then the function.
        let program = format!(
            "source {path}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             read -ra COMP_WORDS <<< \"$COMP_LINE\"; [ -z '{word}' ] && COMP_WORDS+=(''); \
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); \
             _yail yail '{word}' \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path = path.display()
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(&program)
            .current_dir(dir.path())
            .output()
            .expect("run bash");
        let offered = text(&output.stdout);
        let offered: Vec<&str> = offered.lines().collect();
        if word.is_empty() {
            assert_eq!(
                offered,
                [
                    "gr8",
                    "gr9",
                    "gr10",
                    "gr11",
                    "gr15",
                    "vbxe",
                    "vbxe-legacy",
                    "vbxe-hr",
                    "random"
                ],
                "{words}: {}",
                text(&output.stderr)
            );
        } else {
            assert_eq!(offered, ["vbxe", "vbxe-legacy", "vbxe-hr"], "{words}");
        }
    }
}
