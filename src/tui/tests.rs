//! Headless tests of the UI: the real loop on ratatui's `TestBackend`, scripted keys, a fake
//! [`Jobs`] with canned rows (and a real store for the runner's cancellation contract), and
//! insta snapshots of frames.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

use super::*;
use crate::analyze::count::{CountRows, CountStats, KeyRow, TimeRow};
use crate::analyze::extract::ExtractRow;
use crate::analyze::runner::ScanStats;
use crate::query::TimeRange;

const SEC: i64 = 1_000_000_000;
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200 * SEC;

/// Canned results; remembers the jobs it was asked to run.
#[derive(Default)]
struct Fake {
    lines: Vec<(i64, String)>,
    count: Option<(CountRows, CountStats)>,
    extract: Vec<ExtractRow>,
    /// After sending its rows, wait until cancelled (at most 10 s).
    slow: bool,
    seen: Mutex<Vec<Job>>,
}

fn matches(filters: &[String], text: &str) -> bool {
    filters.iter().all(|f| match f.strip_prefix('^') {
        Some(x) => !text.contains(x),
        None => text.contains(f.as_str()),
    })
}

impl Jobs for Fake {
    fn run(&self, job: &Job, sink: &mut Sink) -> anyhow::Result<Summary> {
        self.seen.lock().unwrap().push(job.clone());
        let wait = |sink: &Sink| {
            let t = Instant::now();
            while self.slow && !sink.cancelled() && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        match job {
            Job::Search(q) => {
                let mut hits = 0;
                for (ts, text) in &self.lines {
                    if !matches(&q.filters, text) || q.range.is_some_and(|r| !r.contains(*ts)) {
                        continue;
                    }
                    hits += 1;
                    let l = LogLine { ts: *ts, text: text.clone().into_boxed_str() };
                    if sink.line(l) == crate::analyze::Flow::Stop {
                        break;
                    }
                }
                wait(sink);
                Ok(Summary { hits, rows_read: self.lines.len() as u64 })
            }
            Job::Count => {
                let (rows, st) = self.count.clone().ok_or_else(|| anyhow::anyhow!("no count"))?;
                wait(sink);
                sink.counted(rows, st);
                Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
            }
            Job::Extract => {
                for r in &self.extract {
                    sink.extracted(r.clone());
                }
                wait(sink);
                let n = self.extract.len() as u64;
                Ok(Summary { hits: n, rows_read: n * 2 })
            }
            Job::Analysis => anyhow::bail!("no analysis"),
        }
    }
}

fn log_lines() -> Vec<(i64, String)> {
    (0..40)
        .map(|i| {
            let text = match i % 4 {
                0 => format!("Jan  1 00:{i:02}:00 host sshd[1{i}]: Failed password for root from 10.0.0.{i} port 22"),
                1 => format!("Jan  1 00:{i:02}:00 host sshd[1{i}]: Accepted publickey for alice from 192.168.1.{i}"),
                2 => format!("Jan  1 00:{i:02}:00 host kernel: eth0 link up mac=00:11:22:33:44:{i:02} speed=1000"),
                _ => format!(r#"{{"time":"00:{i:02}","level":"error","msg":"disk full","n":{i}}}"#),
            };
            (T0 + i64::from(i) * 60 * SEC, text)
        })
        .collect()
}

fn count_time() -> (CountRows, CountStats) {
    let rows = vec![
        TimeRow { time: T0, count: 1200, delta: 0 },
        TimeRow { time: T0 + 600 * SEC, count: 7, delta: 600 * SEC },
        TimeRow { time: T0 + 3600 * SEC, count: 350, delta: 3000 * SEC },
        TimeRow { time: T0 + 4200 * SEC, count: 7, delta: 600 * SEC },
    ];
    let scan = ScanStats { rows_read: 5000, ..ScanStats::default() };
    (CountRows::Time(rows), CountStats { hits: 1564, keys: 4, interval: 600 * SEC, scan })
}

fn count_keys() -> (CountRows, CountStats) {
    let rows = vec![
        KeyRow {
            key: b"#TIMESTAMP# host sshd[#NUM#]: Failed password from #IP#".to_vec(),
            count: 30,
        },
        KeyRow { key: b"#TIMESTAMP# host kernel: link up".to_vec(), count: 12 },
        KeyRow { key: b"#TIMESTAMP# host cron[#NUM#]: job #UUID#".to_vec(), count: 12 },
    ];
    let scan = ScanStats { rows_read: 80, ..ScanStats::default() };
    (CountRows::Key(rows), CountStats { hits: 54, keys: 3, interval: 0, scan })
}

fn extract_rows() -> Vec<ExtractRow> {
    let vals = ["10", "12.5", "9", "30", "30"];
    let mut prev: Option<(i64, f64)> = None;
    vals.iter()
        .enumerate()
        .map(|(i, v)| {
            let time = T0 + i as i64 * 10 * SEC + 250_000_000;
            let num: f64 = v.parse().unwrap();
            let (delta, ps) =
                prev.map_or((0.0, 0.0), |(t, p)| (num - p, (num - p) * 1e9 / (time - t) as f64));
            prev = Some((time, num));
            ExtractRow { time, value: v.as_bytes().to_vec(), num, delta, ps }
        })
        .collect()
}

/// A running UI on a test terminal.
struct H {
    term: Terminal<TestBackend>,
    worker: Worker,
    app: App,
}

impl H {
    fn new(init: Init, jobs: Arc<Fake>, w: u16, h: u16) -> H {
        H {
            term: Terminal::new(TestBackend::new(w, h)).unwrap(),
            worker: Worker::new(jobs),
            app: App::new(init, true).unwrap(),
        }
    }

    /// Runs the loop over `script` (then the end of input); returns the last frame.
    fn run(&mut self, script: Vec<Input>) -> String {
        let opts = LoopOptions { tick: Duration::from_millis(1), frozen_clock: true };
        let mut ev = Script(script.into());
        run_loop(&mut self.term, &mut self.app, &mut self.worker, &mut ev, opts).unwrap();
        self.term.backend().to_string()
    }

    fn cell(&self, x: u16, y: u16) -> &ratatui::buffer::Cell {
        &self.term.backend().buffer()[(x, y)]
    }

    /// Position of the first occurrence of `s` on screen.
    fn find(&self, s: &str) -> Option<(u16, u16)> {
        let buf = self.term.backend().buffer();
        for y in 0..buf.area.height {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(at) = row.find(s) {
                return Some((row[..at].chars().count() as u16, y));
            }
        }
        None
    }
}

fn key(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Input {
    Input::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(s: &str) -> Vec<Input> {
    s.chars().map(key).collect()
}

fn search_init(filters: &[&str], color: &str) -> Init {
    Init::Search(SearchInit {
        query: SearchQuery {
            filters: filters.iter().map(|s| s.to_string()).collect(),
            range: None,
            weekly: None,
        },
        color: color.into(),
        ..SearchInit::default()
    })
}

fn fake_lines() -> Arc<Fake> {
    Arc::new(Fake { lines: log_lines(), ..Fake::default() })
}

#[test]
fn search_streams_scrolls_and_reverses() {
    let mut h = H::new(search_init(&[], ""), fake_lines(), 100, 8);
    insta::assert_snapshot!("search_first", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!(
        "search_scrolled",
        h.run(vec![code(KeyCode::Down), key('j'), key('j')])
    );
    insta::assert_snapshot!("search_reversed", h.run(vec![key('r'), code(KeyCode::Home)]));
    insta::assert_snapshot!("search_end", h.run(vec![code(KeyCode::End)]));
}

#[test]
fn search_wrap_sideways_and_json() {
    let mut h = H::new(search_init(&["error"], ""), fake_lines(), 40, 12);
    insta::assert_snapshot!("search_nowrap", h.run(vec![Input::WaitIdle]));
    let right: Vec<Input> = (0..5).map(|_| code(KeyCode::Right)).collect();
    insta::assert_snapshot!("search_hscroll", h.run(right));
    insta::assert_snapshot!("search_wrapped", h.run(vec![key('w')]));
    insta::assert_snapshot!("search_pretty", h.run(vec![key('p')]));
    let raw = h.run(vec![key('d')]);
    assert!(raw.contains(r#"{"time":"00:03","level":"error""#), "{raw}");
}

#[test]
fn search_colour_modes_and_marker() {
    let mut h =
        H::new(search_init(&["Failed"], "ip,filter,regex/root/#00ff00"), fake_lines(), 120, 6);
    h.run(vec![Input::WaitIdle]);
    let (x, y) = h.find("10.0.0.0").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Indexed(10), "ip in green");
    let (x, y) = h.find("Failed").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Indexed(5), "filter word in magenta");
    let (x, y) = h.find("root").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Rgb(0, 255, 0));
    let (x, y) = h.find("port").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Reset, "plain text stays plain");

    // `m`: a marker, white on #c00000.
    let mut s = vec![key('m')];
    s.extend(typed("password"));
    s.push(code(KeyCode::Enter));
    h.run(s);
    let (x, y) = h.find("password").unwrap();
    assert_eq!((h.cell(x, y).fg, h.cell(x, y).bg), (Color::White, Color::Rgb(0xc0, 0, 0)));

    // `c`: editing the modes; an invalid one keeps the old modes and shows the error.
    let mut s = vec![key('c'), ctrl('u')];
    s.extend(typed("regex/(/9"));
    insta::assert_snapshot!("search_color_prompt", h.run(s));
    let frame = h.run(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("search_color_error", frame);
    let (x, y) = h.find("10.0.0.0").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Indexed(10), "old modes stay");
    let mut s = vec![key('c'), ctrl('u')];
    s.extend(typed("kv"));
    s.push(code(KeyCode::Enter));
    h.run(s);
    let (x, y) = h.find("10.0.0.0").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Reset, "ip colour gone");
}

#[test]
fn invalid_colour_mode_fails_before_the_ui() {
    let e = App::new(search_init(&[], "ip,purple"), true).unwrap_err();
    assert!(e.contains("unknown colour mode \"purple\""), "{e}");
    let e = App::new(search_init(&[], "regex/x/999"), true).unwrap_err();
    assert!(e.contains("bad colour \"999\""), "{e}");
}

#[test]
fn search_filter_box_reruns_the_query() {
    let fake = fake_lines();
    let mut h = H::new(search_init(&["sshd"], ""), fake.clone(), 100, 8);
    h.run(vec![Input::WaitIdle]);
    let mut s = vec![key('f')];
    insta::assert_snapshot!("search_filter_prompt", h.run(s.clone()));
    s = vec![key(' ')];
    s.extend(typed("^Failed"));
    s.push(code(KeyCode::Enter));
    s.push(Input::WaitIdle);
    let frame = h.run(s);
    insta::assert_snapshot!("search_refiltered", frame);
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Job::Search(SearchQuery { filters: vec!["sshd".into()], range: None, weekly: None }),
            Job::Search(SearchQuery {
                filters: vec!["sshd".into(), "^Failed".into()],
                range: None,
                weekly: None,
            }),
        ]
    );
    assert!(!frame.contains("Failed"));
}

#[test]
fn search_empty_results_and_resize() {
    let mut h = H::new(search_init(&["nothing-matches"], ""), fake_lines(), 60, 5);
    insta::assert_snapshot!("search_empty", h.run(vec![Input::WaitIdle]));
    assert_eq!(h.app.results(), 0);

    let mut h = H::new(search_init(&[], ""), fake_lines(), 100, 8);
    h.run(vec![Input::WaitIdle]);
    h.term.backend_mut().resize(30, 6);
    insta::assert_snapshot!("search_resized_small", h.run(vec![Input::Resize]));
    h.term.backend_mut().resize(1, 1);
    h.run(vec![Input::Resize, code(KeyCode::Down)]);
    h.term.backend_mut().resize(100, 4);
    insta::assert_snapshot!("search_resized_short", h.run(vec![Input::Resize]));
}

fn count_init(time: bool, normalize: bool) -> Init {
    Init::Count(CountInit {
        name: if time { "Time" } else { "Normalized Pattern" }.into(),
        time_mode: time,
        normalize,
        search: SearchInit {
            query: SearchQuery { filters: vec!["host".into()], range: None, weekly: None },
            ..SearchInit::default()
        },
        range: TimeRange::ALL,
    })
}

#[test]
fn count_time_table_sorts() {
    let fake = Arc::new(Fake { count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 90, 9);
    insta::assert_snapshot!("count_time", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("count_by_count", h.run(vec![key('c')]));
    insta::assert_snapshot!("count_by_count_reversed", h.run(vec![key('c')]));
    insta::assert_snapshot!("count_by_delta", h.run(vec![key('d')]));
    let frame = h.run(vec![key('t')]);
    let first = frame.lines().nth(2).unwrap();
    assert!(first.contains("2024/01/01 00:00"), "{frame}");
    // A short, narrow terminal: the selection stays visible, the title wins over the help.
    h.run(vec![code(KeyCode::End)]);
    h.term.backend_mut().resize(36, 4);
    insta::assert_snapshot!("count_resized", h.run(vec![Input::Resize]));
}

#[test]
fn count_bucket_drills_down_to_a_search() {
    let mut lines = log_lines();
    lines.push((T0 + 3600 * SEC + 5 * SEC, "Jan  1 01:00:05 host late line".into()));
    lines.push((T0 + 4200 * SEC, "Jan  1 01:10:00 host next bucket".into()));
    let fake = Arc::new(Fake { lines, count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake.clone(), 90, 8);
    h.run(vec![Input::WaitIdle]);
    let frame = h.run(vec![
        code(KeyCode::Down),
        code(KeyCode::Down),
        code(KeyCode::Enter),
        Input::WaitIdle,
    ]);
    insta::assert_snapshot!("count_drilldown", frame);
    let range = TimeRange { start: T0 + 3600 * SEC, end: T0 + 4200 * SEC - 1 };
    assert_eq!(
        fake.seen.lock().unwrap().last(),
        Some(&Job::Search(SearchQuery {
            filters: vec!["host".into()],
            range: Some(range),
            weekly: None
        }))
    );
    // q goes back to the table, with the selection kept; q again quits.
    let frame = h.run(vec![key('q')]);
    assert!(frame.contains("Results 4/1,564/5,000"), "{frame}");
    assert!(!h.app.quit);
    h.run(vec![key('q')]);
    assert!(h.app.quit);
}

#[test]
fn count_keys_and_normalize_detail() {
    let fake = Arc::new(Fake { count: Some(count_keys()), ..Fake::default() });
    let mut h = H::new(count_init(false, true), fake, 80, 7);
    insta::assert_snapshot!("count_keys", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("count_keys_by_key", h.run(vec![key('k')]));
    let frame = h.run(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("count_detail", frame);
    let (x, y) = h.find("#UUID#").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Indexed(14));
    let (x, y) = h.find("#NUM#").unwrap();
    assert_eq!(h.cell(x, y).fg, Color::Indexed(3));
    let frame = h.run(vec![code(KeyCode::Enter)]);
    assert!(frame.contains("Results 3/54/80"), "{frame}");
}

#[test]
fn count_empty() {
    let empty = (CountRows::Time(Vec::new()), CountStats::default());
    let fake = Arc::new(Fake { count: Some(empty), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 60, 5);
    insta::assert_snapshot!(
        "count_empty",
        h.run(vec![Input::WaitIdle, code(KeyCode::Enter), key('c')])
    );
}

fn extract_init(stats: bool) -> Init {
    Init::Extract(ExtractInit { name: "Value".into(), stats })
}

#[test]
fn extract_table_sorts_stats_and_detail() {
    let fake = Arc::new(Fake { extract: extract_rows(), ..Fake::default() });
    let mut h = H::new(extract_init(false), fake, 100, 9);
    insta::assert_snapshot!("extract", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("extract_by_value_reversed", h.run(vec![key('v'), key('v')]));
    insta::assert_snapshot!("extract_by_delta", h.run(vec![key('d')]));
    insta::assert_snapshot!("extract_stats", h.run(vec![key('i')]));
    h.term.backend_mut().resize(50, 6);
    insta::assert_snapshot!("extract_stats_resized", h.run(vec![Input::Resize]));
    h.term.backend_mut().resize(100, 9);
    let frame = h.run(vec![key('i'), key('t'), code(KeyCode::Down), code(KeyCode::Enter)]);
    insta::assert_snapshot!("extract_detail", frame);
}

#[test]
fn extract_stats_flag_opens_the_stats_view() {
    let fake = Arc::new(Fake { extract: extract_rows(), ..Fake::default() });
    let mut h = H::new(extract_init(true), fake, 100, 9);
    let frame = h.run(vec![Input::WaitIdle]);
    assert!(frame.contains("Stats") && frame.contains("Variance"), "{frame}");
    assert!(frame.contains("g/h: Chart"), "{frame}");
    // The chart of the series is one key away from its statistics, and back.
    let chart = h.run(vec![key('g')]);
    assert!(chart.contains("Extract:Value") && !chart.contains("Variance"), "{chart}");
    let back = h.run(vec![code(KeyCode::Esc)]);
    assert!(back.contains("Variance"), "{back}");
    let fake = Arc::new(Fake::default());
    let mut h = H::new(extract_init(false), fake, 60, 5);
    insta::assert_snapshot!("extract_empty_stats", h.run(vec![Input::WaitIdle, key('i')]));
}

fn save_as(h: &mut H, path: &std::path::Path) -> String {
    let mut s = vec![key('s')];
    s.extend(typed(&path.display().to_string()));
    s.push(code(KeyCode::Enter));
    h.run(s)
}

#[test]
fn saving_by_extension_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    // search: raw lines in the shown order.
    let mut h = H::new(search_init(&["error"], ""), fake_lines(), 200, 6);
    h.run(vec![Input::WaitIdle, key('r')]);
    let frame = save_as(&mut h, &dir.path().join("s.html"));
    assert!(frame.contains("saved 10 rows to"), "{frame}");
    let text = std::fs::read_to_string(dir.path().join("s.html")).unwrap();
    assert_eq!(text.lines().count(), 10);
    assert!(text.starts_with(r#"{"time":"00:39""#), "{text}");

    // count: CSV and TSV with upstream's columns, in the shown order.
    let fake = Arc::new(Fake { count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 90, 8);
    h.run(vec![Input::WaitIdle, key('c')]);
    save_as(&mut h, &dir.path().join("c.csv"));
    save_as(&mut h, &dir.path().join("c.tsv"));
    insta::assert_snapshot!(
        "count_csv",
        std::fs::read_to_string(dir.path().join("c.csv")).unwrap()
    );
    let tsv = std::fs::read_to_string(dir.path().join("c.tsv")).unwrap();
    assert_eq!(tsv.lines().next(), Some("Time\tCount\tDelta\tDelta(sec)"));
    assert_eq!(tsv.lines().nth(1), Some("2024/01/01 00:10\t7\t10m0s\t600"));

    // keys with commas and quotes are quoted in CSV.
    let keys = (
        CountRows::Key(vec![KeyRow { key: b"a,\"b\"".to_vec(), count: 2 }]),
        CountStats { hits: 2, keys: 1, ..CountStats::default() },
    );
    let fake = Arc::new(Fake { count: Some(keys), ..Fake::default() });
    let mut h = H::new(count_init(false, false), fake, 90, 8);
    h.run(vec![Input::WaitIdle]);
    save_as(&mut h, &dir.path().join("k.csv"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("k.csv")).unwrap(),
        "Normalized Pattern,Count\n\"a,\"\"b\"\"\",2\n"
    );

    // extract: rows and the stats view.
    let fake = Arc::new(Fake { extract: extract_rows(), ..Fake::default() });
    let mut h = H::new(extract_init(false), fake, 100, 9);
    h.run(vec![Input::WaitIdle]);
    save_as(&mut h, &dir.path().join("e.csv"));
    insta::assert_snapshot!(
        "extract_csv",
        std::fs::read_to_string(dir.path().join("e.csv")).unwrap()
    );
    h.run(vec![key('i')]);
    save_as(&mut h, &dir.path().join("stats.csv"));
    insta::assert_snapshot!(
        "extract_stats_csv",
        std::fs::read_to_string(dir.path().join("stats.csv")).unwrap()
    );

    // Failures keep the UI and its rows, and show the error.
    let frame = save_as(&mut h, &dir.path().join("no/such/dir/x.csv"));
    assert!(frame.contains("cannot save") && frame.contains("x.csv"), "{frame}");
    assert!(frame.contains("Variance"), "{frame}");
    assert!(!h.app.quit);
    // A chart into a missing directory: the error, the UI and its rows stay.
    let frame = save_as(&mut h, &dir.path().join("no/such/dir/chart.png"));
    assert!(frame.contains("cannot save") && frame.contains("chart.png"), "{frame}");
    assert!(frame.contains("Variance"), "{frame}");
    // An empty name or esc does nothing.
    let frame = h.run(vec![key('s'), code(KeyCode::Enter)]);
    assert!(!frame.contains("saved") && !frame.contains("cannot"), "{frame}");
    let frame = h.run(vec![key('s'), key('x'), code(KeyCode::Esc)]);
    assert!(!frame.contains("Save file name?"), "{frame}");
    assert!(!h.app.quit);
}

#[test]
fn progress_screen_and_cancel_keep_partial_results() {
    let fake = Arc::new(Fake { lines: log_lines(), slow: true, ..Fake::default() });
    let mut h = H::new(search_init(&["sshd"], ""), fake, 100, 10);
    // The job sends its rows, then runs until cancelled: the progress panel shows.
    let frame = h.run(vec![Input::Tick]);
    assert!(
        frame.contains("Scanning (q: cancel)") && frame.contains("q/esc/ctrl+c: Cancel"),
        "{frame}"
    );
    // Let the 20 rows arrive (the job then waits for the cancel).
    let t = Instant::now();
    while h.app.results() < 20 && t.elapsed() < Duration::from_secs(10) {
        h.run(vec![Input::Tick]);
    }
    // q cancels (it does not quit); the partial rows stay, marked.
    let frame = h.run(vec![key('q'), Input::WaitIdle]);
    insta::assert_snapshot!("search_cancelled", frame);
    assert!(!h.app.quit);
    assert_eq!(h.app.results(), 20);
    h.run(vec![key('q')]);
    assert!(h.app.quit);

    // Count: Ctrl-C cancels the scan, a second Ctrl-C quits.
    let fake = Arc::new(Fake { count: Some(count_time()), slow: true, ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 90, 9);
    h.run(vec![Input::Tick, ctrl('c'), Input::WaitIdle]);
    assert!(!h.app.quit);
    let frame = h.run(vec![]);
    assert!(frame.contains("(cancelled)"), "{frame}");
    h.run(vec![ctrl('c')]);
    assert!(h.app.quit);
}

#[test]
fn progress_panel_frame() {
    // The panel as a pure function of the state.
    let mut app = App::new(count_init(true, false), true).unwrap();
    app.progress = worker::Progress {
        running: true,
        cancelling: false,
        rows_read: 250_000,
        rows_planned: 1_000_000,
        hits: 1234,
        elapsed: Duration::from_millis(2500),
        phase: ("", 0, 0),
    };
    let mut term = Terminal::new(TestBackend::new(90, 8)).unwrap();
    term.draw(|f| render(&app, f)).unwrap();
    insta::assert_snapshot!("progress_panel", term.backend().to_string());
    // After the scans, a named phase replaces the scan gauge with its own.
    app.progress.phase = ("Training", 30, 120);
    term.draw(|f| render(&app, f)).unwrap();
    let frame = term.backend().to_string();
    assert!(frame.contains(" Training (q: cancel) "), "{frame}");
    assert!(frame.contains("Training: 30/120 lines=250,000/1,000,000"), "{frame}");
    assert!(frame.contains("25%"), "{frame}");
}

/// A [`runner::Phase`] reaches the control of the thread that entered it, also from other
/// threads, and sees its cancellation; outside a control it is inert.
#[test]
fn phases_report_and_cancel() {
    use crate::analyze::runner::{Phase, ScanControl, with_control};
    let ctl = Arc::new(ScanControl::default());
    let ph = with_control(ctl.clone(), || Phase::enter("Score", 10));
    std::thread::scope(|s| {
        s.spawn(|| ph.step(4));
    });
    assert_eq!(ctl.phase(), ("Score", 4, 10));
    assert!(!ph.cancelled());
    ctl.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(ph.cancelled());
    let free = Phase::enter("Score", 10);
    free.step(1);
    assert!(!free.cancelled());
}

#[test]
fn job_errors_show_and_keep_the_ui() {
    // No count configured: the fake fails.
    let mut h = H::new(count_init(true, false), Arc::new(Fake::default()), 60, 5);
    let frame = h.run(vec![Input::WaitIdle]);
    assert!(frame.contains("error: no count"), "{frame}");
    assert!(!h.app.quit);
}

#[test]
fn prompt_editing() {
    let mut p = prompt::Prompt::new(prompt::PromptKind::Filter, "ab");
    for k in [
        KeyEvent::new(KeyCode::Left, KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Char('é'), KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Home, KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Delete, KeyModifiers::NONE),
        KeyEvent::new(KeyCode::End, KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
    ] {
        assert_eq!(p.key(k), prompt::PromptResult::Editing);
    }
    assert_eq!(p.text, "é");
    assert_eq!(
        p.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        prompt::PromptResult::Submit("é".into())
    );
}

/// The runner side of cancellation, on a real store: scans inside `with_control` report
/// progress, and stop (keeping what they found) once the flag is set.
#[test]
fn runner_control_progress_and_cancel() {
    use crate::analyze::runner::{ScanControl, with_control};
    use crate::analyze::search::{SearchConfig, search};
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub");
    let seg = crate::store::SegmentOptions {
        block_text_bytes: 2048,
        block_rows: 16,
        frame_text_bytes: 512,
    };
    let mut w = crate::store::StoreWriter::open(&path, seg).unwrap();
    let opts = crate::ingest::ImportOptions { utc: true, ..Default::default() };
    let inputs = [data.join("Linux/Linux_2k.log").display().to_string()];
    crate::ingest::run_import(&mut w, &inputs, &opts, Default::default(), &crate::ingest::Quiet)
        .unwrap();
    drop(w);
    let store = crate::store::Store::open(&path).unwrap();
    let cfg = SearchConfig::default();

    let ctl = Arc::new(ScanControl::default());
    let st = with_control(ctl.clone(), || {
        search(&store, &cfg, &mut |_| Ok(crate::analyze::Flow::Continue))
    })
    .unwrap();
    assert_eq!(st.hits, 2000);
    assert_eq!(ctl.hits.load(Ordering::Relaxed), 2000);
    assert_eq!(ctl.rows_read.load(Ordering::Relaxed), st.rows_read);
    assert_eq!(ctl.rows_planned.load(Ordering::Relaxed), 2000);

    // Cancelled from the first hit on: the ordered scan stops after that batch.
    crate::analyze::runner::TEST_BATCH.with(|b| b.set(Some(4)));
    let ctl = Arc::new(ScanControl::default());
    let c2 = ctl.clone();
    let st = with_control(ctl.clone(), || {
        search(&store, &cfg, &mut |_| {
            c2.cancel.store(true, Ordering::Relaxed);
            Ok(crate::analyze::Flow::Continue)
        })
    })
    .unwrap();
    assert!(st.hits < 2000, "ordered scan went on after cancel: {}", st.hits);

    // A fold cancelled up front reads nothing; without a control it reads everything.
    let filter = crate::query::Filter::default();
    let plan = crate::analyze::runner::plan(&store, &filter, TimeRange::ALL).unwrap();
    let fold = || {
        crate::analyze::runner::scan_fold(
            &store,
            &plan,
            &filter,
            TimeRange::ALL,
            || 0u64,
            |n, _| *n += 1,
            |a, b| a + b,
        )
        .unwrap()
        .0
    };
    let ctl = Arc::new(ScanControl::default());
    ctl.cancel.store(true, Ordering::Relaxed);
    assert_eq!(with_control(ctl.clone(), fold), 0);
    assert_eq!(ctl.rows_read.load(Ordering::Relaxed), 0);
    assert_eq!(fold(), 2000);
}

/// Rows reach the UI complete and in order, whether the job sends full batches or the UI
/// takes a batch that waited 50 ms.
#[test]
fn worker_keeps_row_order_across_sent_and_taken_batches() {
    struct Bursts;
    impl Jobs for Bursts {
        fn run(&self, _job: &Job, sink: &mut Sink) -> anyhow::Result<Summary> {
            for i in 0..5000i64 {
                sink.line(LogLine { ts: i, text: "x".into() });
                if i % 700 == 0 {
                    std::thread::sleep(Duration::from_millis(60));
                }
            }
            Ok(Summary { hits: 5000, rows_read: 5000 })
        }
    }
    let mut w = Worker::new(Arc::new(Bursts));
    w.start(Job::Extract);
    let (mut got, mut done, mut batches) = (Vec::new(), false, 0);
    let t = Instant::now();
    while !done && t.elapsed() < Duration::from_secs(20) {
        match w.try_recv() {
            Some(Msg::Lines(l)) => {
                batches += 1;
                got.extend(l.into_iter().map(|l| l.ts));
            }
            Some(Msg::Done { result, .. }) => {
                assert_eq!(result, Ok(Summary { hits: 5000, rows_read: 5000 }));
                done = true;
            }
            Some(m) => panic!("unexpected {m:?}"),
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    assert!(done);
    assert_eq!(got, (0..5000).collect::<Vec<_>>());
    assert!(batches > 5, "rows were not streamed: {batches} batches");
}

#[test]
fn detail_during_a_running_job_keeps_streaming_into_the_table() {
    let fake = Arc::new(Fake { extract: extract_rows(), slow: true, ..Fake::default() });
    let mut h = H::new(extract_init(false), fake, 100, 12);
    let t = Instant::now();
    while h.app.results() < 5 && t.elapsed() < Duration::from_secs(10) {
        h.run(vec![Input::Tick]);
    }
    // enter opens the detail; q closes it (it does not cancel the job behind it).
    let frame = h.run(vec![code(KeyCode::Enter)]);
    assert!(frame.contains("Value: 10"), "{frame}");
    let frame = h.run(vec![key('q')]);
    assert!(
        frame.contains("Scanning (q: cancel)") && frame.contains("2024/01/01T00:00:40.25"),
        "{frame}"
    );
    // Now q cancels; the rows stay.
    let frame = h.run(vec![key('q'), Input::WaitIdle]);
    assert!(frame.contains("Results 5/5/10") && frame.contains("(cancelled)"), "{frame}");
    // g charts the partial rows; q goes back to them.
    let frame = h.run(vec![key('g')]);
    assert!(frame.contains("TWSLA Extract:Value"), "{frame}");
    let frame = h.run(vec![key('q')]);
    assert!(frame.contains("Results 5/5/10") && !h.app.quit, "{frame}");
}

#[test]
fn extract_sort_chosen_while_streaming_applies_when_done() {
    let fake = Arc::new(Fake { extract: extract_rows(), slow: true, ..Fake::default() });
    let mut h = H::new(extract_init(false), fake, 100, 10);
    h.run(vec![key('v')]);
    let t = Instant::now();
    while h.app.results() < 5 && t.elapsed() < Duration::from_secs(10) {
        h.run(vec![Input::Tick]);
    }
    let frame = h.run(vec![key('q'), Input::WaitIdle]);
    let values: Vec<&str> =
        frame.lines().skip(2).take(5).filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(values, ["9", "10", "12.5", "30", "30"], "{frame}");
}

proptest::proptest! {
    /// Highlighting only styles: the spans spell the text exactly, whatever the rules match
    /// (byte-level regexes may match inside a multi-byte character).
    #[test]
    fn highlight_keeps_the_text(text in "\\PC{0,60}", marker in "[a-zé.]{0,3}") {
        let hints = color::FilterHints { regex: Some("[0-9]+".into()), simple: vec!["é*".into()] };
        let rules = color::parse_modes("ip,mac,email,url,kv,filter,regex/./9,regex/\\x80/#ff0000", &hints)
            .unwrap();
        let marker = color::parse_marker(&marker).unwrap();
        let line = color::highlight(&text, &rules, marker.as_ref());
        let spelled: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        proptest::prop_assert_eq!(spelled, text);
    }

    /// The key help shown is a suffix of whole entries that fits.
    #[test]
    fn help_fits(width in 0usize..120) {
        let h = render::fit_help(search::HELP, width);
        proptest::prop_assert!(h.chars().count() <= width);
        proptest::prop_assert!(search::HELP.ends_with(&h));
        proptest::prop_assert!(h.is_empty() || h.ends_with("q: Quit"));
    }
}

#[test]
fn a_panicking_job_shows_its_message_and_the_ui_goes_on() {
    struct Boom;
    impl Jobs for Boom {
        fn run(&self, _job: &Job, _sink: &mut Sink) -> anyhow::Result<Summary> {
            panic!("boom in the analysis");
        }
    }
    let mut h = H {
        term: Terminal::new(TestBackend::new(80, 5)).unwrap(),
        worker: Worker::new(Arc::new(Boom)),
        app: App::new(search_init(&[], ""), true).unwrap(),
    };
    let frame = h.run(vec![Input::WaitIdle]);
    assert!(
        frame.contains("error: internal error: the job panicked: boom in the analysis"),
        "{frame}"
    );
    assert!(frame.contains("No results"), "{frame}");
    assert!(!h.app.quit);
}

// Charts (g, h, saving .png/.html).

/// Braille cells (ratatui's line charts) in a frame.
fn braille(frame: &str) -> usize {
    frame.chars().filter(|c| ('\u{2801}'..='\u{28ff}').contains(c)).count()
}

fn no_open(mut h: H) -> H {
    h.app.open_charts = false;
    h
}

#[test]
fn g_draws_the_count_time_chart_and_q_goes_back() {
    let fake = Arc::new(Fake { count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 90, 16);
    h.run(vec![Input::WaitIdle]);
    let frame = h.run(vec![key('g')]);
    assert!(frame.contains("TWSLA Count:Time"), "{frame}");
    assert!(frame.contains("h: HTML / s: Save .png/.html / q: Back"), "{frame}");
    assert!(frame.contains("01/01 00:00") && frame.contains("01/01 01:10"), "time axis: {frame}");
    assert!(frame.contains("1500") && frame.contains("Count"), "y axis to a round 1500: {frame}");
    assert!(braille(&frame) > 20, "the line: {frame}");
    // The line is drawn in the first palette colour.
    let buf = h.term.backend().buffer();
    let (r, g, b) = crate::chart::color(0);
    let coloured = buf.content().iter().filter(|c| c.fg == Color::Rgb(r, g, b)).count();
    assert!(coloured > 20, "{coloured}");
    let frame = h.run(vec![key('q')]);
    assert!(frame.contains("Results 4/1,564/5,000") && !h.app.quit, "{frame}");
    // g in the chart goes back too.
    h.run(vec![key('g')]);
    let frame = h.run(vec![key('g')]);
    assert!(frame.contains("Results 4/1,564/5,000"), "{frame}");
}

#[test]
fn g_draws_the_top_keys_as_bars_with_shares() {
    let fake = Arc::new(Fake { count: Some(count_keys()), ..Fake::default() });
    let mut h = H::new(count_init(false, true), fake, 100, 10);
    h.run(vec![Input::WaitIdle]);
    let frame = h.run(vec![key('g')]);
    assert!(frame.contains("TWSLA Log count:Normalized Pattern"), "{frame}");
    assert!(frame.contains("30 55.6%") && frame.contains("12 22.2%"), "{frame}");
    assert!(frame.contains("#TIMESTAMP# host kernel"), "labels: {frame}");
}

#[test]
fn g_on_an_empty_view_says_so() {
    let empty = (CountRows::Time(Vec::new()), CountStats::default());
    let fake = Arc::new(Fake { count: Some(empty), ..Fake::default() });
    let mut h = no_open(H::new(count_init(true, false), fake, 60, 5));
    h.run(vec![Input::WaitIdle]);
    let frame = h.run(vec![key('g')]);
    assert!(frame.contains("no data for a chart") && h.app.views.len() == 1, "{frame}");
    let frame = h.run(vec![key('h')]);
    assert!(frame.contains("no data for a chart"), "{frame}");
}

#[test]
fn extract_chart_numbers_non_numeric_values_by_first_appearance() {
    let mut rows = extract_rows();
    rows[1].value = b"up".to_vec();
    rows[3].value = b"down".to_vec();
    rows[4].value = b"up".to_vec();
    let v = {
        let mut v = super::table::ExtractView::new("State");
        v.push(rows);
        v
    };
    let c = super::chart::of_extract(&v, true);
    let crate::chart::ChartSpec::TimeSeries(t) = &c.spec else { panic!("{c:?}") };
    let ys: Vec<f64> = t.series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(ys, [10.0, 1.0, 9.0, 2.0, 1.0]);
    assert_eq!(t.title, "TWSLA Extract:State");
    assert_eq!(c.stem, "extractTime");
}

#[test]
fn h_writes_the_html_chart_and_shows_where() {
    let fake = Arc::new(Fake { extract: extract_rows(), ..Fake::default() });
    let mut h = no_open(H::new(extract_init(false), fake, 120, 9));
    h.run(vec![Input::WaitIdle]);
    let frame = h.run(vec![key('h')]);
    let path = super::chart::temp_html("extractTime");
    assert!(frame.contains("chart written to") && frame.contains("twsla-extractTime-"), "{frame}");
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.contains("<title>TWSLA Extract:Value</title>") && page.contains("<polyline"));
    // From the chart view too.
    std::fs::remove_file(&path).unwrap();
    let frame = h.run(vec![key('g'), key('h')]);
    assert!(frame.contains("chart written to"), "{frame}");
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();
}

/// A saved PNG: its size and whether it has more than a few colours.
fn png_info(path: &std::path::Path) -> (u32, u32, usize) {
    let dec = ::png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let colours: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    (info.width, info.height, colours.len())
}

#[test]
fn saving_charts_as_png_and_html_from_every_chart_view() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // count by time: the table and the chart view both save both formats.
    let fake = Arc::new(Fake { count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 90, 9);
    h.run(vec![Input::WaitIdle]);
    let frame = save_as(&mut h, &p("time.png"));
    assert!(frame.contains("saved the chart to"), "{frame}");
    let (w, hh, colours) = png_info(&p("time.png"));
    assert!((w, hh) == (1000, 500) && colours > 10, "{w}x{hh} {colours}");
    save_as(&mut h, &p("time.HTML"));
    let page = std::fs::read_to_string(p("time.HTML")).unwrap();
    assert!(page.contains("TWSLA Count:Time") && page.contains("\"v\":[1200.0,7.0,350.0,7.0]"));
    h.run(vec![key('g')]);
    save_as(&mut h, &p("view.png"));
    save_as(&mut h, &p("view.htm"));
    assert_eq!(std::fs::read(p("view.png")).unwrap(), std::fs::read(p("time.png")).unwrap());
    assert!(std::fs::read_to_string(p("view.htm")).unwrap().contains("<svg"));
    // The chart view saves only charts: other names are an error that keeps the chart.
    let frame = save_as(&mut h, &p("view.csv"));
    assert!(frame.contains("a chart saves as .png or .html") && frame.contains("TWSLA Count"));
    assert!(!p("view.csv").exists());
    // A failed save keeps the UI.
    let frame = save_as(&mut h, &p("no/dir/x.html"));
    assert!(frame.contains("cannot save") && !h.app.quit, "{frame}");

    // count by key: a pie.
    let fake = Arc::new(Fake { count: Some(count_keys()), ..Fake::default() });
    let mut h = H::new(count_init(false, true), fake, 90, 9);
    h.run(vec![Input::WaitIdle]);
    save_as(&mut h, &p("keys.png"));
    let (w, hh, colours) = png_info(&p("keys.png"));
    assert!((w, hh) == (900, 520) && colours > 10, "{w}x{hh} {colours}");
    save_as(&mut h, &p("keys.html"));
    let page = std::fs::read_to_string(p("keys.html")).unwrap();
    assert_eq!(page.matches("<path data-s=").count(), 3, "one slice per key");

    // extract (and its stats view): the value over time.
    let fake = Arc::new(Fake { extract: extract_rows(), ..Fake::default() });
    let mut h = H::new(extract_init(true), fake, 90, 9);
    h.run(vec![Input::WaitIdle]);
    save_as(&mut h, &p("x.png"));
    save_as(&mut h, &p("x.html"));
    assert!(png_info(&p("x.png")).2 > 10);
    let page = std::fs::read_to_string(p("x.html")).unwrap();
    assert!(page.contains("\"v\":[10.0,12.5,9.0,30.0,30.0]"), "{page}");
}

#[test]
fn sixel_mode_puts_the_image_in_the_chart_area() {
    let fake = Arc::new(Fake { count: Some(count_time()), ..Fake::default() });
    let mut h = H::new(count_init(true, false), fake, 80, 12);
    h.app.sixel = true;
    h.app.cell_px = (8, 16);
    h.run(vec![Input::WaitIdle]);
    h.run(vec![key('g')]);
    // The body starts on row 1: 80x10 cells of 8x16 px, one band (6 px) short of 160 px.
    let first = h.cell(0, 1).symbol().to_string();
    assert!(first.starts_with("\x1bP0;1;0q\"1;1;300;150#"), "{:?}", &first[..40.min(first.len())]);
    assert!(first.ends_with("\x1b\\"));
    assert_eq!(
        h.cell(0, 1).diff_option,
        ratatui::buffer::CellDiffOption::ForcedWidth(std::num::NonZeroU16::MIN)
    );
    assert!(h.find("TWSLA Count:Time").is_some());
    // The frame itself: 300x150 px cover 38x10 cells; those are skipped by the diff (the
    // terminal keeps the image there), the rest is drawn.
    let super::View::Chart(view) = h.app.top().clone() else { panic!("not a chart") };
    let mut term = Terminal::new(TestBackend::new(80, 12)).unwrap();
    let area = ratatui::layout::Rect::new(0, 1, 80, 10);
    let done = term.draw(|f| view.render(f, area, Some((8, 16)))).unwrap();
    use ratatui::buffer::CellDiffOption::{None as Plain, Skip};
    assert_eq!(done.buffer[(37, 10)].diff_option, Skip);
    assert_eq!(done.buffer[(1, 1)].diff_option, Skip);
    assert_eq!(done.buffer[(38, 1)].diff_option, Plain);
    assert_eq!(done.buffer[(0, 11)].diff_option, Plain);
    // Back to the table: plain cells again.
    let frame = h.run(vec![key('q')]);
    assert!(frame.contains("Results 4/1,564/5,000"), "{frame}");
    assert_eq!(h.cell(0, 1).diff_option, ratatui::buffer::CellDiffOption::None);
}

/// Draws a chart spec with the widgets on a `w`x`h` test terminal.
fn draw_spec(spec: &crate::chart::ChartSpec, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| super::chart::draw(spec, f, f.area())).unwrap();
    term
}

#[test]
fn terminal_heatmap_and_graph_charts() {
    use crate::chart::{ChartSpec, Edge, Graph, Heatmap, Node};
    let m = ChartSpec::Heatmap(Heatmap {
        title: "TWSLA Heatmap".into(),
        x_labels: vec!["Sunday".into(), "Monday".into()],
        y_labels: (0..24).map(|h| h.to_string()).collect(),
        cells: vec![(0, 0, 3), (1, 23, 40)],
    });
    let term = draw_spec(&m, 40, 26);
    let text = term.backend().to_string();
    // Hour 23 on the first line, hour 0 on the 24th; the x labels and the max below.
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("\"23 ··██ "), "{text}");
    assert!(lines[23].starts_with("\" 0 ██··"), "{text}");
    assert!(lines[24].contains("Sunday … Monday  (max 40)"), "{text}");
    let (r, g, b) = crate::chart::heat(40, 40);
    assert_eq!(term.backend().buffer()[(5, 0)].fg, Color::Rgb(r, g, b));

    let g = ChartSpec::Graph(Graph {
        title: "TWSLA relation graph".into(),
        groups: vec!["ip".into(), "user".into()],
        nodes: vec![
            Node { label: "10.0.0.1".into(), group: 0 },
            Node { label: "root".into(), group: 1 },
        ],
        edges: vec![Edge { from: 0, to: 1, weight: 3 }],
    });
    let term = draw_spec(&g, 60, 20);
    let text = term.backend().to_string();
    assert!(text.contains("● 10.0.0.1") && text.contains("● root"), "{text}");
    assert!(braille(&text) > 5, "the edge: {text}");
    let (r, gg, b) = crate::chart::color(1);
    assert!(term.backend().buffer().content().iter().any(|c| c.fg == Color::Rgb(r, gg, b)));
}

#[test]
fn terminal_top_n_bars_show_other_in_its_colour() {
    let items = (0..12).map(|i| (format!("k{i}"), 20 - i as u64));
    let spec = crate::chart::ChartSpec::TopN(crate::chart::TopN::of("t", items, 10));
    let term = draw_spec(&spec, 80, 12);
    let text = term.backend().to_string();
    assert!(
        text.contains("Other") && text.contains("Other 19 10.9%") && text.contains("k5    15 8.6%"),
        "{text}"
    );
    let (r, g, b) = crate::chart::OTHER;
    assert!(term.backend().buffer().content().iter().any(|c| c.fg == Color::Rgb(r, g, b)));
}
