//! The `yail-server` binary as an operator starts it: where its settings
//! come from and in which order, what it says at start, and what stops it
//! from starting. Each test runs the binary on port 0 with a clean
//! environment, reads its log until it listens, and stops it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Longest wait for the server to say it listens (a bound, not a speed goal).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A folder of its own for one test, the binary's working directory.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("yail-startup-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8 path").to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run printed, and how it ended.
struct Run {
    /// Standard output up to the line that says it listens (everything,
    /// when it stopped by itself).
    log: String,
    stderr: String,
    /// `None`: it started (and was stopped by the test).
    exit: Option<ExitStatus>,
}

impl Run {
    fn started(&self) -> bool {
        self.exit.is_none()
    }

    fn lines_with(&self, text: &str) -> Vec<&str> {
        self.log.lines().filter(|l| l.contains(text)).collect()
    }
}

fn server(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yail-server"));
    command
        .args(["--port", "0", "--no-admin"])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command` until its log says it listens, or until it exits.
fn run(mut command: Command) -> Run {
    let mut child = command.spawn().expect("start yail-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut log = String::new();
    let mut listening = false;
    while let Ok(line) = received.recv_timeout(START_LIMIT) {
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            listening = true;
            break;
        }
    }
    let exit = if listening {
        let _ = child.kill();
        let _ = child.wait();
        None
    } else {
        let _ = child.kill();
        Some(child.wait().expect("wait"))
    };
    Run {
        log,
        stderr: errors.join().unwrap_or_default(),
        exit,
    }
}

/// The `effective settings` debug line, which shows every setting.
fn effective(run: &Run) -> String {
    run.lines_with("effective settings")
        .first()
        .map(|l| l.to_string())
        .unwrap_or_else(|| panic!("no settings line in:\n{}", run.log))
}

const DEBUG: [&str; 2] = ["--log-level", "info,yail_server=debug"];

#[test]
fn settings_rank_flags_then_environment_then_env_file_then_settings_file_then_defaults() {
    let scratch = Scratch::new("precedence");
    let config = scratch.file(
        "yail.toml",
        "# Ranked lowest.\nmax_per_ip = 1\nmax_connections = 11\ncache_mb = 21\nmax_command_len = 500\n",
    );
    let env_file = scratch.file(
        "yail.env",
        "YAIL_MAX_PER_IP=2\nYAIL_MAX_CONNECTIONS=12\nYAIL_CACHE_MB=22\n",
    );
    let mut args = vec![
        "--config",
        &config,
        "--env-file",
        &env_file,
        "--max-per-ip",
        "4",
    ];
    args.extend(DEBUG);
    let env = [("YAIL_MAX_PER_IP", "3"), ("YAIL_MAX_CONNECTIONS", "13")];
    let started = run(server(&args, &env, &scratch.0));
    assert!(started.started(), "{}\n{}", started.log, started.stderr);
    let settings = effective(&started);
    for expected in [
        "max_per_ip: 4",         // the flag
        "max_connections: 13",   // the environment
        "cache_bytes: 23068672", // the env file: 22 MiB
        "max_command_len: 500",  // the settings file
        "idle_timeout: 300s",    // the default
    ] {
        assert!(settings.contains(expected), "{expected} not in {settings}");
    }
    let said = started.lines_with("settings: ");
    assert!(
        said.iter()
            .any(|l| l.contains("yail.toml") && l.contains("env file")),
        "{}",
        started.log
    );
}

#[test]
fn a_wrong_settings_file_stops_the_server_naming_the_file_line_and_key() {
    let scratch = Scratch::new("wrong-file");
    let config = scratch.file("yail.toml", "port = 6000\nmax-per-ip = 3\n");
    let stopped = run(server(&["--config", &config], &[], &scratch.0));
    let status = stopped.exit.expect("it did not start");
    assert_eq!(status.code(), Some(1), "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("yail.toml, line 2: unknown key `max-per-ip`")
            && stopped.stderr.contains("max_per_ip"),
        "{}",
        stopped.stderr
    );
    let bad_value = scratch.file("bad.toml", "\nsearch_engine = \"google\"\n");
    let stopped = run(server(&["--config", &bad_value], &[], &scratch.0));
    assert!(stopped.exit.is_some());
    assert!(
        stopped
            .stderr
            .contains("bad.toml, line 2: `search_engine`: unknown search engine"),
        "{}",
        stopped.stderr
    );
}

#[test]
fn python_servers_variables_are_read_with_a_warning_naming_the_new_one() {
    let scratch = Scratch::new("python");
    let env = [
        ("GEN_MODEL", "gpt-image-1.5"),
        ("OPENAI_SIZE", "1536x1024"),
        ("OPENAI_STYLE", "vivid"),
    ];
    let started = run(server(&DEBUG, &env, &scratch.0));
    assert!(started.started(), "{}\n{}", started.log, started.stderr);
    let warnings = started.lines_with("WARN");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("GEN_MODEL") && w.contains("YAIL_GEN_MODEL (--gen-model)")),
        "{}",
        started.log
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("OPENAI_STYLE") && w.contains("ignored")),
        "{}",
        started.log
    );
    let settings = effective(&started);
    assert!(
        settings.contains("gen_model: \"gpt-image-1.5\""),
        "{settings}"
    );
    assert!(settings.contains("gen_size: \"1536x1024\""), "{settings}");
    // A YAIL_ variable wins over the Python name.
    let env = [
        ("GEN_MODEL", "gpt-image-1.5"),
        ("YAIL_GEN_MODEL", "gpt-image-1-mini"),
    ];
    let started = run(server(&DEBUG, &env, &scratch.0));
    assert!(effective(&started).contains("gen_model: \"gpt-image-1-mini\""));
}

#[test]
fn regression_a_missing_paths_folder_stops_the_server_unless_a_rescan_may_find_it() {
    let scratch = Scratch::new("paths");
    let missing = scratch.0.join("no-such-pictures");
    let missing = missing.to_str().expect("utf-8");
    let stopped = run(server(&["--paths", missing], &[], &scratch.0));
    let status = stopped.exit.expect("it did not start");
    assert!(!status.success());
    assert!(
        stopped.stderr.contains(missing) && stopped.stderr.contains("does not exist"),
        "{}",
        stopped.stderr
    );
    let waiting = run(server(
        &["--paths", missing, "--rescan-secs", "60"],
        &[],
        &scratch.0,
    ));
    assert!(waiting.started(), "{}", waiting.stderr);
    assert!(
        waiting
            .lines_with("WARN")
            .iter()
            .any(|w| w.contains(missing) && w.contains("every 60 s")),
        "{}",
        waiting.log
    );
}

#[test]
fn regression_startup_says_a_few_short_lines_and_no_secret() {
    let scratch = Scratch::new("summary");
    let env = [
        ("YAIL_OPENAI_API_KEY", "sk-startup-secret"),
        ("YAIL_CAMERA", "http://viewer:hunter2@127.0.0.1:9/snap"),
    ];
    let started = run(server(&[], &env, &scratch.0));
    assert!(started.started(), "{}\n{}", started.log, started.stderr);
    let info: Vec<&str> = started.lines_with(" INFO ");
    assert!(info.len() <= 10, "{}", started.log);
    assert!(info.iter().all(|l| l.len() < 240), "{}", started.log);
    for secret in ["sk-startup-secret", "hunter2", "viewer"] {
        assert!(!started.log.contains(secret), "{secret}:\n{}", started.log);
    }
    for said in [
        "pictures: the built-in gallery",
        "search: DuckDuckGo",
        "OpenAI key set, no Gemini key",
        "camera: http://127.0.0.1:9/...",
        "admin page: off",
        "on the Atari, use N:TCP://",
    ] {
        assert!(
            started.log.contains(said),
            "{said} not in:\n{}",
            started.log
        );
    }
}

#[test]
fn regression_logs_carry_no_colour_codes_into_a_pipe() {
    let scratch = Scratch::new("colour");
    let started = run(server(&[], &[], &scratch.0));
    assert!(started.started(), "{}", started.stderr);
    assert!(!started.log.contains('\u{1b}'), "{:?}", started.log);
}

/// Under a terminal (`script` gives the server one) the log is coloured,
/// unless `NO_COLOR` is set.
#[test]
fn no_color_turns_colour_off_at_a_terminal() {
    let Some(script) = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("SKIPPED no_color_turns_colour_off_at_a_terminal: no `script` (util-linux)");
        return;
    };
    let scratch = Scratch::new("no-color");
    let line = format!("{} --port 0 --no-admin", env!("CARGO_BIN_EXE_yail-server"));
    let at_terminal = |env: &[(&str, &str)]| {
        let mut command = Command::new(script);
        command
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("TERM", "xterm")
            .envs(env.iter().copied())
            .current_dir(&scratch.0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run(command)
    };
    let coloured = at_terminal(&[]);
    assert!(coloured.started(), "{}", coloured.stderr);
    assert!(coloured.log.contains('\u{1b}'), "{:?}", coloured.log);
    let plain = at_terminal(&[("NO_COLOR", "1")]);
    assert!(plain.started(), "{}", plain.stderr);
    assert!(!plain.log.contains('\u{1b}'), "{:?}", plain.log);
}
