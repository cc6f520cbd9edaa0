//! The terminal UI on a real pseudo-terminal (util-linux `script`): it opens when stdout is a
//! terminal, draws, quits on `q`, and always leaves the alternate screen. The raw output holds
//! only the changes between frames, so only text of a first full draw is checked here; the
//! views themselves are tested headless in `src/tui/tests.rs` (frame snapshots), and piped
//! output by the other modules.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{BIN, TestDir, syslog, twtest};

const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";

/// Runs `twsla -d STORE --utc ARGS` on a 100x20 pseudo-terminal, types `keys` (one string
/// each, 1.5 s apart, the first 1.5 s after the start), and returns the exit code and all
/// terminal output. `None` when `script` is not installed.
fn on_pty(dir: &TestDir, args: &str, keys: &[&str]) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let line =
        format!("stty cols 100 rows 20; exec {BIN} -d {} --utc {args}", dir.store().display());
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
    let mut stdin = child.stdin.take().unwrap();
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let typer = std::thread::spawn(move || {
        for k in keys {
            std::thread::sleep(Duration::from_millis(1500));
            if stdin.write_all(k.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                break;
            }
        }
        // Keep the terminal's input open until the program is done.
        std::thread::sleep(Duration::from_secs(30));
    });
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the UI did not quit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(typer);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("panicked"), "{text}");
    Some((status.code().unwrap_or(-1), text))
}

twtest!(search_opens_the_ui_and_restores_the_terminal, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let Some((code, out)) = on_pty(&dir, "search -c ip sshd", &["r", "w", "q"]) else { return };
    assert_eq!(code, 0, "{out:?}");
    let enter = out.find(ENTER_ALT).unwrap_or_else(|| panic!("no alternate screen: {out:?}"));
    let leave = out.rfind(LEAVE_ALT).unwrap_or_else(|| panic!("terminal not restored: {out:?}"));
    assert!(enter < leave);
    assert!(out[leave..].contains("\x1b[?25h"), "cursor not shown again: {out:?}");
    let frames = &out[enter..leave];
    assert!(frames.contains("Results"), "{frames:?}");
    // After `r` (newest first) and `w` (wrap), the IPs of the last records show in colour 10.
    assert!(frames.contains("\x1b[38;5;10;49m207.243.167.114"), "{frames:?}");
});

twtest!(count_ui_quits_on_q_with_the_rows_found, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let Some((code, out)) = on_pty(&dir, "count -i 3600", &["c", "q"]) else { return };
    assert_eq!(code, 0, "{out:?}");
    assert!(out.contains("Time                    Count"), "{out:?}");
    assert!(out.rfind(LEAVE_ALT) > out.find(ENTER_ALT), "{out:?}");
});

twtest!(bad_colour_mode_fails_before_the_ui, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let Some((code, out)) = on_pty(&dir, "search -c purple", &[]) else { return };
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown colour mode \"purple\""), "{out}");
    assert!(!out.contains(ENTER_ALT), "{out:?}");
});

twtest!(nothing_found_exits_1_after_the_ui, |dir| {
    dir.import(&[syslog()]).0.code(0);
    let Some((code, out)) = on_pty(&dir, "search no-such-word-anywhere", &["q"]) else { return };
    assert_eq!(code, 1, "{out:?}");
    assert!(out.rfind(LEAVE_ALT) > out.find(ENTER_ALT), "{out:?}");
});

twtest!(analyzers_open_the_ui_on_a_terminal, |dir| {
    dir.import(&[syslog()]).0.code(0);
    // (arguments, a column title of the first frame)
    let cases = [
        ("time sshd", "Delta"),
        ("heatmap", "Date"),
        ("heatmap -w", "Weekday"),
        ("delay", "Delay"),
        ("relation ip kv", "Count"),
        ("tfidf", "Mean"),
        ("anomaly -m sql", "Score"),
    ];
    for (args, title) in cases {
        let Some((code, out)) = on_pty(&dir, args, &["q"]) else { return };
        assert!(code == 0 || code == 1, "{args}: {code} {out:?}");
        let enter = out.find(ENTER_ALT).unwrap_or_else(|| panic!("{args}: no UI: {out:?}"));
        let leave = out.rfind(LEAVE_ALT).unwrap_or_else(|| panic!("{args}: not restored: {out:?}"));
        assert!(out[enter..leave].contains(title), "{args}: {out:?}");
    }
});
