//! The UI in a real terminal (tmux) and the saved charts in a real browser (headless
//! Chromium), issue 5's proof:
//!
//! * tmux runs `twsla search` and `twsla count` on the syslog sample; `send-keys` drives
//!   sorting, saving (`.txt`, `.csv`, `.png`, `.html`), the chart view and quitting;
//!   `capture-pane` checks the screen, and the saved files are checked; the analyzer views
//!   (delay, heatmap with its drill-downs, relation, time) get the same treatment;
//! * the saved `.html` charts are opened in headless Chromium (no network): the inline script
//!   ran (`data-ready` in the DOM) and a screenshot shows the chart's colours; `.png` files
//!   decode and are not blank.
//!
//! Without tmux or chromium these tests skip with a message; with `TWSLA_CI_TERMINAL=1` (set by
//! `.ci/run`, which installs both) a missing tool fails them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{BIN, TestDir, syslog, twtest};

/// Whether CI requires the tools.
fn forced() -> bool {
    std::env::var("TWSLA_CI_TERMINAL").is_ok_and(|v| v == "1")
}

/// `true` when `tool` runs; else skips (or fails in CI).
fn have(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!forced(), "{tool} is required with TWSLA_CI_TERMINAL=1 but does not run");
        eprintln!("skipped: {tool} is not installed (CI sets TWSLA_CI_TERMINAL=1 to require it)");
    }
    ok
}

/// A tmux server of its own (socket named after the test) with one 100x30 window.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `twsla -d STORE --utc ARGS` in a new session; after it exits the pane prints
    /// `EXIT=<code>` and stays.
    fn start(dir: &TestDir, name: &str, args: &str) -> Tmux {
        let socket = format!("twsla-{name}-{}", std::process::id());
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let line = format!(
            "cd {}; env TZ=UTC TWSLA_NO_OPEN=1 HOME={} {BIN} -d {} --utc {args}; echo EXIT=$?; sleep 600",
            dir.path().display(),
            home.display(),
            dir.store().display()
        );
        let t = Tmux { socket };
        let out = t
            .cmd()
            .args(["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", &line])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).env("TERM", "xterm-256color");
        c
    }

    /// Sends keys by tmux name (`Enter`, `Escape`) or as literal text (`-l`).
    fn send(&self, keys: &str, literal: bool) {
        let mut c = self.cmd();
        c.args(["send-keys", "-t", "t"]);
        if literal {
            c.arg("-l");
        }
        assert!(c.arg(keys).status().unwrap().success());
    }

    fn key(&self, k: &str) {
        self.send(k, k.chars().count() == 1);
    }

    /// `s`, the file name, Enter.
    fn save(&self, path: &Path) {
        self.key("s");
        self.wait_for("Save file name?");
        self.send(&path.display().to_string(), true);
        self.key("Enter");
    }

    fn capture(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p", "-t", "t"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (at most 30 s) until the screen contains `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        let t = Instant::now();
        loop {
            let screen = self.capture();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{needle:?} did not show within 30 s; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// Decodes a PNG: (width, height, distinct colours, pixels of colour `rgb`).
fn png_stats(path: &Path, rgb: (u8, u8, u8)) -> (u32, u32, usize, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = png::Decoder::new(std::io::BufReader::new(file)).read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        c => panic!("unexpected colour type {c:?}"),
    };
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(step).map(|c| &c[..3]).collect();
    let distinct: std::collections::HashSet<&[u8]> = px.iter().copied().collect();
    let hits = px.iter().filter(|p| **p == [rgb.0, rgb.1, rgb.2]).count();
    (info.width, info.height, distinct.len(), hits)
}

/// The first series/slice colour of the charts (`chart::PALETTE[0]`).
const BLUE: (u8, u8, u8) = (0x54, 0x70, 0xc6);

/// Headless Chromium without network: the page's DOM after its scripts ran, and a screenshot.
fn chromium(dir: &TestDir, url: &str, shot: &Path) -> String {
    let profile = dir.join("chromium-profile");
    let base = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            // No network at all: every host resolves nowhere.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1100,650",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null());
    };
    let mut dom = Command::new("chromium");
    base(&mut dom);
    let out = dom.arg("--dump-dom").arg(url).output().unwrap();
    assert!(out.status.success(), "chromium --dump-dom: {}", String::from_utf8_lossy(&out.stderr));
    let mut snap = Command::new("chromium");
    base(&mut snap);
    let st = snap
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(st.status.success(), "chromium --screenshot: {}", String::from_utf8_lossy(&st.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A saved HTML chart: self-contained, and drawn by a real browser.
fn check_html_in_browser(dir: &TestDir, page: &Path, title: &str) {
    check_html_colour_in_browser(dir, page, title, BLUE, 300);
}

/// A saved HTML chart drawn by a real browser, with at least `min` pixels of colour `rgb`.
fn check_html_colour_in_browser(
    dir: &TestDir,
    page: &Path,
    title: &str,
    rgb: (u8, u8, u8),
    min: usize,
) {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
    assert!(!html.contains("https:") && !html.contains("src="), "not self-contained");
    if !have("chromium", "--version") {
        return;
    }
    let shot = dir.join(&format!("{}.shot.png", page.file_name().unwrap().to_string_lossy()));
    let url = format!("file://{}", page.display());
    let dom = chromium(dir, &url, &shot);
    assert!(dom.contains("data-ready=\"1\""), "the inline script did not run: {dom}");
    let (w, h, colours, seen) = png_stats(&shot, rgb);
    assert!(w >= 1000 && h >= 500, "{w}x{h}");
    assert!(colours > 20, "the screenshot is blank: {colours} colours");
    assert!(seen >= min, "the chart's colour {rgb:?} is not drawn: {seen} pixels");
}

/// A pie with its first slice hidden from the legend (`#hide=0`): the script redraws the
/// other slices over the whole circle.
fn check_pie_toggle_in_browser(dir: &TestDir, page: &Path) {
    if !have("chromium", "--version") {
        return;
    }
    let url = format!("file://{}#hide=0", page.display());
    let dom = chromium(dir, &url, &dir.join("toggle.shot.png"));
    let slices = &dom[dom.find("<g id=\"slices\">").unwrap()..];
    let slices = &slices[..slices.find("</g>").unwrap()];
    assert_eq!(slices.matches("<path").count(), 10, "{slices}");
    assert!(!slices.contains("data-s=\"0\"") && slices.contains("data-s=\"10\""), "{slices}");
    assert!(dom.contains("class=\"lg off\" data-s=\"0\""), "the legend entry is off");
    // The first colour is gone from the picture (the legend keeps its dimmed square).
    let (_, _, colours, blue) = png_stats(&dir.join("toggle.shot.png"), BLUE);
    assert!(colours > 20 && blue < 300, "{colours} colours, {blue} pixels of the hidden slice");
}

/// The points of the first line in a page or DOM.
fn first_line_points(html: &str) -> usize {
    let at = html.find("<polyline data-s=\"0\"").expect("a line") + 1;
    let p = at + html[at..].find("points=\"").expect("points") + 8;
    let end = p + html[p..].find('"').unwrap();
    html[p..end].split_whitespace().count()
}

/// A time chart zoomed by the page's script (`#zoom=` from the first to the middle point):
/// the time axis starts at the first point and the line has fewer points.
fn check_zoom_in_browser(dir: &TestDir, page: &Path) {
    if !have("chromium", "--version") {
        return;
    }
    let html = std::fs::read_to_string(page).unwrap();
    let start = html.find("id=\"chart-data\">").unwrap() + "id=\"chart-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    let t: Vec<f64> =
        data["series"][0]["t"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let (a, b) = (t[0], t[t.len() / 2]);
    let url = format!("file://{}#zoom={a},{b}", page.display());
    let dom = chromium(dir, &url, &dir.join("zoom.shot.png"));
    let label = |ns: f64| {
        chrono::DateTime::from_timestamp_nanos(ns as i64).format("%m/%d %H:%M").to_string()
    };
    let want = format!("data-zoom=\"{} - {}\"", label(a), label(b));
    assert!(dom.contains(&want), "{want} not in the DOM: {dom}");
    let first_tick = format!(">{}</text>", label(a));
    let axis = &dom[dom.find("<g id=\"xaxis\">").unwrap()..];
    assert!(axis.contains(&first_tick), "{first_tick} not on the time axis: {axis}");
    let (all, zoomed) = (first_line_points(&html), first_line_points(&dom));
    assert!(zoomed < all && zoomed > t.len() / 2 - 2, "{zoomed} of {all} points drawn");
    let (_, _, colours, blue) = png_stats(&dir.join("zoom.shot.png"), BLUE);
    assert!(colours > 20 && blue > 300, "zoomed screenshot: {colours} colours, {blue} blue");
}

/// A saved PNG chart: decodes, has the expected size, is not blank.
fn check_png(path: &Path, size: (u32, u32)) {
    let (w, h, colours, blue) = png_stats(path, BLUE);
    assert_eq!((w, h), size);
    assert!(colours > 20, "blank PNG: {colours} colours");
    assert!(blue > 100, "the first series colour is missing: {blue} pixels");
}

fn file(dir: &TestDir, name: &str) -> PathBuf {
    dir.join(name)
}

twtest!(tmux_search_reverse_save_quit, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let t = Tmux::start(&dir, "search", "search authentication failure");
    // Done: the key help replaces the cancel hint.
    let screen = t.wait_for("q: Quit");
    assert!(screen.contains("authentication failure"), "{screen}");
    let first = screen.lines().nth(1).unwrap_or_default().to_string();
    t.key("r");
    let t0 = Instant::now();
    let reversed = loop {
        let s = t.capture();
        if s.lines().nth(1).unwrap_or_default() != first || t0.elapsed() > Duration::from_secs(10) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_ne!(reversed.lines().nth(1), Some(first.as_str()), "r did not reverse:\n{reversed}");
    let out = file(&dir, "hits.txt");
    t.save(&out);
    t.wait_for("saved");
    let saved = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = saved.lines().collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.contains("authentication failure")));
    // Newest first, as shown: the first saved line is on the screen's first row.
    let top = reversed.lines().nth(1).unwrap().trim_end();
    assert!(lines[0].starts_with(top.get(..40).unwrap_or(top)), "{top:?} vs {:?}", lines[0]);
    t.key("q");
    t.wait_for("EXIT=0");
});

twtest!(tmux_count_sort_save_chart_and_browser, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let t = Tmux::start(&dir, "count", "count -i 3600");
    t.wait_for("q: Quit");
    // c: by count (ascending); the CSV keeps that order.
    t.key("c");
    let csv = file(&dir, "count.csv");
    t.save(&csv);
    t.wait_for("saved");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Time,Count,Delta,Delta(sec)"));
    let counts: Vec<u64> = lines.map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(counts.len() > 2 && counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");

    // Charts from the table.
    let png_path = file(&dir, "count.png");
    t.save(&png_path);
    t.wait_for("saved the chart to");
    check_png(&png_path, (1000, 500));
    let html_path = file(&dir, "count.html");
    t.save(&html_path);
    t.wait_for("saved the chart to");

    // g: the chart in the terminal; it saves too; h writes the page and shows where.
    t.key("g");
    let screen = t.wait_for("TWSLA Count:Time");
    assert!(screen.contains("h: HTML"), "{screen}");
    let braille = screen.chars().filter(|c| ('\u{2801}'..='\u{28ff}').contains(c)).count();
    assert!(braille > 20, "no line drawn:\n{screen}");
    let view_png = file(&dir, "view.png");
    t.save(&view_png);
    t.wait_for("saved the chart to");
    assert_eq!(std::fs::read(&view_png).unwrap(), std::fs::read(&png_path).unwrap());
    // A failed save shows the error and keeps the chart.
    t.save(&file(&dir, "no/such/dir/x.png"));
    let screen = t.wait_for("cannot save");
    assert!(screen.contains("TWSLA Count:Time"), "{screen}");
    t.key("h");
    let screen = t.wait_for("chart written to");
    assert!(screen.contains("twsla-countTime-"), "{screen}");
    // q: back to the table, q: quit.
    t.key("q");
    t.wait_for("Delta");
    t.key("q");
    t.wait_for("EXIT=0");

    check_html_in_browser(&dir, &html_path, "TWSLA Count:Time");
    check_zoom_in_browser(&dir, &html_path);
});

twtest!(tmux_count_keys_pie_png_and_html_in_browser, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let t = Tmux::start(&dir, "pie", "count -e normalize");
    t.wait_for("q: Quit");
    t.key("g");
    let screen = t.wait_for("TWSLA Log count:Normalized Pattern");
    assert!(screen.contains('%'), "shares on the bars:\n{screen}");
    let png_path = file(&dir, "pie.png");
    let html_path = file(&dir, "pie.html");
    t.save(&png_path);
    t.wait_for("saved the chart to");
    t.save(&html_path);
    t.wait_for("saved the chart to");
    t.key("q");
    t.key("q");
    t.wait_for("EXIT=0");
    check_png(&png_path, (900, 520));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(html.matches("<path data-s=").count(), 11, "top 10 and Other");
    check_html_in_browser(&dir, &html_path, "TWSLA Log count:Normalized Pattern");
    check_pie_toggle_in_browser(&dir, &html_path);
});

twtest!(sixel_chart_is_written_to_the_terminal, |dir| {
    // util-linux `script` gives a pseudo-terminal and records everything the UI writes (tmux
    // would swallow the sixel sequence).
    if !have("script", "--version") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let line = format!(
        "stty cols 100 rows 30; exec {BIN} -d {} --utc count -i 3600",
        dir.store().display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("TZ", "UTC")
        .env("TERM", "xterm-256color")
        .env("TWSLA_SIXEL", "true")
        .env("HOME", dir.join("home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    // Keys only once the screen shows what they act on (the count may take a while under load).
    let wait_for = |needle: &str| {
        let t = Instant::now();
        loop {
            if String::from_utf8_lossy(&seen.lock().unwrap()).contains(needle) {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{needle:?} did not show");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut key = |k: &str| {
        use std::io::Write;
        stdin.write_all(k.as_bytes()).and_then(|()| stdin.flush()).unwrap();
    };
    // The table's header shows with the rows, at the end of the count.
    wait_for("Delta");
    key("g");
    wait_for("\x1bP0;1;0q");
    key("q");
    key("q");
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < Duration::from_secs(60), "the UI did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap();
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    // 100x30 cells of 10x20 px (the pty reports no pixel size): the body is 100x28 cells,
    // 1000x(28*20/6-1)*6 = 1000x552 px at most: the 1000x500 chart as it is.
    let start =
        text.find("\x1bP0;1;0q\"1;1;1000;500#").unwrap_or_else(|| panic!("no sixel: {text:?}"));
    assert!(text[start..].contains("\x1b\\"), "unterminated sixel");
    assert!(status.success(), "{status:?}");
});

twtest!(tmux_delay_sorts_saves_and_charts, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let t = Tmux::start(&dir, "delay", "delay");
    let screen = t.wait_for("q: Quit");
    assert!(screen.contains("Results 3/3/2,000"), "{screen}");
    // t: by time; the saved table keeps the shown order and upstream's columns.
    t.key("t");
    let tsv = file(&dir, "delay.tsv");
    t.save(&tsv);
    t.wait_for("saved 3 rows");
    let text = std::fs::read_to_string(&tsv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "Delay\tTime\tLog");
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[1..].iter().all(|r| r.starts_with("5.000\t2005/07/27T14:41:54\tJul 27 14:41:54")));
    // g: the delay over time; saved from the chart view as PNG and HTML.
    t.key("g");
    t.wait_for("TWSLA Delay");
    let png = file(&dir, "delay.png");
    t.save(&png);
    t.wait_for("saved the chart to");
    let (w, h, colours, _) = png_stats(&png, BLUE);
    assert!(w >= 500 && h >= 300 && colours > 10, "{w}x{h} {colours}");
    let html = file(&dir, "delay.html");
    t.save(&html);
    t.wait_for("saved the chart to");
    t.key("q");
    t.wait_for("Delay");
    t.key("q");
    t.wait_for("EXIT=0");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<title>TWSLA Delay</title>"), "{page}");
});

twtest!(tmux_heatmap_drills_down_and_charts_in_browser, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    // By date: enter on 2005/06/15 12:00 (24 records) opens their search.
    let t = Tmux::start(&dir, "heat", "heatmap");
    let screen = t.wait_for("q: Quit");
    assert!(screen.contains("2005/06/15"), "{screen}");
    t.key("Down");
    for _ in 0..12 {
        t.key("Right");
    }
    t.key("Enter");
    let screen = t.wait_for("[2005/06/15 12:00 +1h0m0s]");
    let shown = t.wait_for("Results 24/");
    assert!(shown.lines().skip(1).take(24).all(|l| l.starts_with("Jun 15 12:")), "{shown}{screen}");
    t.key("q");
    t.wait_for("k/c: Table");
    let html = file(&dir, "heat.html");
    t.save(&html);
    t.wait_for("saved the chart to");
    t.key("q");
    t.wait_for("EXIT=0");
    check_html_colour_in_browser(&dir, &html, "TWSLA Heatmap", (0xd9, 0x4e, 0x5d), 50);

    // By weekday: enter on Sunday 04:00 (50 records on six Sundays) searches them all.
    let t = Tmux::start(&dir, "heatw", "heatmap -w");
    let screen = t.wait_for("q: Quit");
    let sunday = screen.lines().find(|l| l.starts_with("Sunday")).unwrap_or_default();
    assert_eq!(sunday.split_whitespace().nth(5), Some("50"), "{screen}");
    for _ in 0..4 {
        t.key("Right");
    }
    t.key("Enter");
    t.wait_for("[every Sunday 04:00 +1h0m0s]");
    let shown = t.wait_for("Results 50/");
    let rows: Vec<&str> = shown.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    assert!(rows.len() >= 20 && rows.iter().all(|l| l[7..].starts_with("04:")), "{shown}");
    let days: std::collections::BTreeSet<&str> = rows.iter().map(|l| &l[..6]).collect();
    assert!(days.len() > 1, "{shown}");
    t.key("q");
    t.key("q");
    t.wait_for("EXIT=0");
});

twtest!(tmux_relation_graph_and_time_mark, |dir| {
    if !have("tmux", "-V") {
        return;
    }
    dir.import(&[syslog()]).0.code(0);
    let t = Tmux::start(&dir, "rel", "relation ip kv");
    let screen = t.wait_for("q: Quit");
    assert!(screen.contains("150.183.249.110") && screen.contains("uid=0"), "{screen}");
    let csv = file(&dir, "rel.csv");
    t.save(&csv);
    t.wait_for("saved");
    let text = std::fs::read_to_string(&csv).unwrap();
    // Values are whole matches of upstream's kv regex, trailing separator included.
    assert!(text.starts_with("ip,kv,Count\n150.183.249.110,uid=0 ,80\n"), "{text}");
    t.key("g");
    t.wait_for("TWSLA relation graph");
    let html = file(&dir, "rel.html");
    t.save(&html);
    t.wait_for("saved the chart to");
    t.key("q");
    t.key("q");
    t.wait_for("EXIT=0");
    check_html_in_browser(&dir, &html, "TWSLA relation graph");

    // time: m marks the selected row; Diff counts from it.
    let t = Tmux::start(&dir, "time", "time sshd");
    let before = t.wait_for("q: Quit");
    let row = |s: &str, i: usize| s.lines().nth(3 + i).unwrap_or_default().to_string();
    assert!(row(&before, 3).trim_start().starts_with("38938.000"), "{before}");
    t.key("Down");
    t.key("Down");
    t.key("m");
    // The third row is marked and Diff now counts from it: the fourth row is 38937 s later.
    let t0 = Instant::now();
    let screen = loop {
        let s = t.capture();
        if row(&s, 2).starts_with('*') || t0.elapsed() > Duration::from_secs(30) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(row(&screen, 2).starts_with('*') && !row(&screen, 0).starts_with('*'), "{screen}");
    assert!(row(&screen, 3).trim_start().starts_with("38937.000"), "{screen}");
    t.key("q");
    t.wait_for("EXIT=0");
});
