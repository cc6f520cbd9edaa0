//! The import screen on a real pseudo-terminal (util-linux `script`): `twsla import` shows it
//! when stdout is a terminal, `q` cancels, the screen says "Cancelling…", the terminal is
//! restored, the summary says what was left, the store verifies, and the next import completes
//! it to exactly what a one-shot import stores. Without a terminal, with `--ndjson` or with
//! stdin as input, no screen. (The screen itself is tested headless in `src/tui/import.rs`,
//! the cancel semantics in `src/ingest/tests_cancel.rs`.)

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{BIN, TestDir, data_bytes, twtest};

const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";

/// A program on a 100x30 pseudo-terminal, its output collected as it comes.
struct Pty {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    /// `twsla -d STORE --utc ARGS` under `script`; `None` when `script` is not installed.
    fn start(dir: &TestDir, args: &str) -> Option<Pty> {
        if Command::new("script").arg("--version").output().is_err() {
            eprintln!("skipped: util-linux `script` is not installed");
            return None;
        }
        let line = format!(
            "stty cols 100 rows 30; cd {}; exec {BIN} -d {} --utc {args}",
            dir.path().display(),
            dir.store().display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &line, "/dev/null"])
            .env("TZ", "UTC")
            .env("TERM", "xterm-256color")
            .env("HOME", std::env::temp_dir().join("twsla-tests-no-home"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let stdin = child.stdin.take();
        Some(Pty { child, stdin, out })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits (at most 30 s) until the output contains `needle`.
    fn wait_for(&self, needle: &str) {
        let t = Instant::now();
        while !self.text().contains(needle) {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{needle:?} not shown within 30 s: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn send(&mut self, s: &str) {
        let w = self.stdin.as_mut().unwrap();
        w.write_all(s.as_bytes()).unwrap();
        w.flush().unwrap();
    }

    /// Waits (at most 60 s) for the exit; returns the code and all output.
    fn finish(mut self) -> (i32, String) {
        let t = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > Duration::from_secs(60) {
                self.child.kill().unwrap();
                panic!("twsla did not end within 60 s: {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.stdin.take());
        // Let the reader thread take the last bytes.
        std::thread::sleep(Duration::from_millis(200));
        let text = self.text();
        assert!(!text.contains("panicked"), "{text}");
        (status.code().unwrap_or(-1), text)
    }
}

/// 120 loghub files (about 32 MB): several seconds of import for a debug build.
fn big_input(dir: &TestDir) -> String {
    let linux = data_bytes("loghub/Linux/Linux_2k.log");
    let tb = data_bytes("loghub/Thunderbird/Thunderbird_2k.log");
    for i in 0..60 {
        dir.write(&format!("logs/linux-{i:02}.log"), &linux);
        dir.write(&format!("logs/tb-{i:02}.log"), &tb);
    }
    dir.join("logs").display().to_string()
}

/// Every stored record as its NDJSON line, sorted.
fn all_rows(dir: &TestDir, store: &std::path::Path) -> Vec<String> {
    let out = dir.cmd_on(store, "search").arg("--ndjson").run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    let mut v = out.lines();
    v.sort();
    v
}

twtest!(q_cancels_the_import_screen_and_the_next_import_completes_it, |dir| {
    let logs = big_input(&dir);
    let Some(mut pty) = Pty::start(&dir, &format!("import {logs}")) else { return };
    // The screen is up and a source is being read (its path shows): cancel.
    pty.wait_for("twsla import →");
    pty.wait_for("/logs/");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("q");
    let (code, out) = pty.finish();
    let enter = out.find(ENTER_ALT).unwrap_or_else(|| panic!("no screen: {out:?}"));
    let leave = out.rfind(LEAVE_ALT).unwrap_or_else(|| panic!("terminal not restored: {out:?}"));
    assert!(enter < leave, "{out:?}");
    assert!(out[leave..].contains("\x1b[?25h"), "cursor not shown again: {out:?}");
    let frames = &out[enter..leave];
    assert!(frames.contains("Reading"), "{frames:?}");
    assert!(frames.contains("Cancelling…"), "{frames:?}");
    // After the screen: the summary says the import was cancelled, and exits 1.
    let after = &out[leave..];
    assert!(after.contains("twsla: import cancelled"), "{after:?}");
    assert!(after.contains("cancelled=true"), "{after:?}");
    assert_eq!(code, 1, "{out:?}");

    let verify = dir.cmd("verify").run();
    assert_eq!(verify.code, 0, "{verify:?}");
    // Usually part of the input (on a very slow machine the cancel may come before the first
    // record: then nothing, which the next import completes just the same).
    let partial = all_rows(&dir, dir.store());
    assert!(partial.len() < 240_000, "{} records", partial.len());

    // The next import (no terminal) reads only the rest.
    let (o, s) = dir.import(&[&logs]);
    o.code(0);
    assert!(!s.cancelled && s.incomplete == 0 && s.not_started == 0, "{s:?}");
    assert_eq!(s.records as usize, 240_000 - partial.len(), "{s:?}");
    assert!(s.new_sources + s.grown > 0 && s.new_sources + s.grown <= 120, "{s:?}");
    let one_shot = dir.join("one-shot");
    let o = dir.cmd_on(&one_shot, "import").arg("--ndjson").arg(&logs).run();
    o.code(0);
    assert_eq!(all_rows(&dir, dir.store()), all_rows(&dir, &one_shot));
    assert_eq!(dir.cmd("verify").run().code, 0);
});

twtest!(no_screen_for_ndjson_or_stdin, |dir| {
    let line = "2024-01-02T03:04:05Z host app: hello\n";
    dir.write("a.log", line);
    let Some(pty) = Pty::start(&dir, "import --ndjson a.log") else { return };
    let (code, out) = pty.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(!out.contains(ENTER_ALT), "{out:?}");
    assert!(out.contains("\"records\":1"), "{out:?}");

    // `import -`: the data comes from the terminal's input, so no screen reads keys there.
    let Some(mut pty) = Pty::start(&dir, "import -") else { return };
    std::thread::sleep(Duration::from_millis(500));
    pty.send(line);
    pty.send("\x04");
    let (code, out) = pty.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(!out.contains(ENTER_ALT), "{out:?}");
    assert!(out.contains("Total file=1 line=1"), "{out:?}");
});

// In tmux (a real terminal emulator's screen, read back with `capture-pane`): the screen
// shows the progress panel; after `q` the screen is left and the summary on the normal
// screen says the import was cancelled. Skips without tmux unless `TWSLA_CI_TERMINAL=1`.
twtest!(tmux_shows_the_import_screen_and_the_cancelled_summary, |dir| {
    let forced = std::env::var("TWSLA_CI_TERMINAL").is_ok_and(|v| v == "1");
    let have = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(!forced, "tmux is required with TWSLA_CI_TERMINAL=1 but does not run");
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let logs = big_input(&dir);
    let socket = format!("twsla-import-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap()
    };
    struct Kill<'a>(&'a dyn Fn(&[&str]) -> std::process::Output);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let _kill = Kill(&tmux);
    let line = format!(
        "cd {}; env TZ=UTC HOME={} {BIN} -d {} --utc import {logs}; echo EXIT=$?; sleep 600",
        dir.path().display(),
        std::env::temp_dir().join("twsla-tests-no-home").display(),
        dir.store().display()
    );
    let out = tmux(&["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", &line]);
    assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
    let wait_for = |needle: &str| -> String {
        let t = Instant::now();
        loop {
            let screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout)
                .into_owned();
            if screen.contains(needle) {
                return screen;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{needle:?} not shown:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // The footer is the last line drawn: the whole screen is there.
    wait_for("Importing… a cancel keeps");
    // The first progress report gives the inputs and their total size.
    let screen = wait_for("of 120 done");
    assert!(screen.contains("twsla import →") && screen.contains("Problems (0)"), "{screen}");
    assert!(screen.contains("% ") && screen.contains("of 33 MB"), "no gauge:\n{screen}");
    assert!(tmux(&["send-keys", "-t", "t", "-l", "q"]).status.success());
    let screen = wait_for("EXIT=");
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert!(screen.contains("twsla: import cancelled"), "{screen}");
    assert!(screen.contains("cancelled=true"), "{screen}");
    assert!(!screen.contains("Problems ("), "the screen was not left:\n{screen}");
    assert_eq!(dir.cmd("verify").run().code, 0);
});

twtest!(ctrl_c_without_the_screen_cancels_and_commits, |dir| {
    // `--ndjson`: no screen, the progress line on the terminal's stderr; Ctrl-C (SIGINT from
    // the terminal) cancels like `q` does on the screen.
    let logs = big_input(&dir);
    let Some(mut pty) = Pty::start(&dir, &format!("import --ndjson {logs}")) else { return };
    pty.wait_for(".log line=");
    std::thread::sleep(Duration::from_millis(200));
    pty.send("\x03");
    let (code, out) = pty.finish();
    assert!(!out.contains(ENTER_ALT), "{out:?}");
    assert_eq!(code, 1, "{out:?}");
    assert!(out.contains("\"cancelled\":true"), "{out:?}");
    assert!(out.contains("twsla: import cancelled"), "{out:?}");
    assert_eq!(dir.cmd("verify").run().code, 0);
    let stored = all_rows(&dir, dir.store()).len();
    assert!(stored < 240_000, "{stored}");
    let (o, s) = dir.import(&[&logs]);
    o.code(0);
    assert_eq!(s.records as usize + stored, 240_000, "{s:?}");
});

twtest!(summary_counts_new_and_grown_sources, |dir| {
    let line = |i: u32| format!("2024-01-02T03:04:{:02}Z host app: event {i}\n", i % 60);
    dir.write("a.log", line(1));
    dir.write("b.log", line(2));
    let (_, s) = dir.import(&["a.log", "b.log"]);
    assert_eq!((s.new_sources, s.grown, s.unchanged), (2, 0, 0), "{s:?}");
    dir.append("a.log", line(3));
    dir.write("c.log", line(4));
    let out = dir.cmd("import").args(&["a.log", "b.log", "c.log"]).run();
    out.code(0);
    assert_eq!(out.lines()[1], "  records=2 new=1 grown=1 unchanged=1", "{out:?}");
});
