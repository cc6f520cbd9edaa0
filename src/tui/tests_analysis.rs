//! Headless tests of the analyzer views (tfidf, anomaly, delay, time, relation, heatmap): the
//! real loop on `TestBackend` with scripted keys, a fake [`Jobs`] with canned rows, and insta
//! snapshots of frames.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::analyze::heatmap::{Day, HeatmapRow};
use crate::analyze::relation;
use crate::analyze::timeview::TimeSummary;
use crate::query::TimeRange;

const SEC: i64 = 1_000_000_000;
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200 * SEC;
/// 2024-01-01 in days since 1970-01-01.
const D0: i64 = 19_723;

/// Canned rows and extra data; remembers the jobs it ran.
#[derive(Default)]
struct Fake {
    rows: Vec<ARow>,
    extra: Option<Extra>,
    lines: Vec<(i64, String)>,
    seen: Mutex<Vec<Job>>,
}

impl Jobs for Fake {
    fn run(&self, job: &Job, sink: &mut Sink) -> anyhow::Result<Summary> {
        self.seen.lock().unwrap().push(job.clone());
        match job {
            Job::Analysis => {
                for r in &self.rows {
                    sink.row(r.clone());
                }
                if let Some(e) = &self.extra {
                    sink.extra(e.clone());
                }
                Ok(Summary { hits: 100, rows_read: 200 })
            }
            Job::Search(q) => {
                let mut hits = 0;
                for (ts, text) in &self.lines {
                    if q.range.is_some_and(|r| !r.contains(*ts)) {
                        continue;
                    }
                    hits += 1;
                    sink.line(LogLine { ts: *ts, text: text.clone().into_boxed_str() });
                }
                Ok(Summary { hits, rows_read: self.lines.len() as u64 })
            }
            _ => anyhow::bail!("not an analyzer job"),
        }
    }
}

struct H {
    term: Terminal<TestBackend>,
    worker: Worker,
    app: App,
    jobs: Arc<Fake>,
}

impl H {
    fn new(init: Init, jobs: Fake, w: u16, h: u16) -> H {
        let jobs = Arc::new(jobs);
        let mut app = App::new(init, true).unwrap();
        app.open_charts = false;
        H {
            term: Terminal::new(TestBackend::new(w, h)).unwrap(),
            worker: Worker::new(jobs.clone()),
            app,
            jobs,
        }
    }

    fn run(&mut self, script: Vec<Input>) -> String {
        let opts = LoopOptions { tick: Duration::from_millis(1), frozen_clock: true };
        let mut ev = Script(script.into());
        run_loop(&mut self.term, &mut self.app, &mut self.worker, &mut ev, opts).unwrap();
        self.term.backend().to_string()
    }
}

fn key(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Input {
    Input::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(s: &str) -> Vec<Input> {
    s.chars().map(key).collect()
}

fn init(kind: Kind) -> Init {
    Init::Analysis(AnalysisInit { kind, mark: 0 })
}

fn logs(nums: &[&[f64]]) -> Vec<ARow> {
    nums.iter()
        .enumerate()
        .map(|(i, n)| {
            let t = T0 + i as i64 * 7 * SEC;
            ARow::log(t, n, format!("host sshd[{i}]: line number {i}").as_bytes())
        })
        .collect()
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("twsla-tui-an-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn save(name: &str) -> Vec<Input> {
    let mut v = vec![key('s')];
    v.extend(typed(tmp(name).to_str().unwrap()));
    v.push(code(KeyCode::Enter));
    v
}

#[test]
fn tfidf_sorts_detail_and_save() {
    let rows = logs(&[&[0.1, 0.2, 0.9], &[0.0, 0.1, 0.3], &[0.5, 0.6, 0.7]]);
    let mut h = H::new(init(Kind::Tfidf), Fake { rows, ..Fake::default() }, 70, 8);
    insta::assert_snapshot!("tfidf_first", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("tfidf_by_max", h.run(vec![key('a')]));
    insta::assert_snapshot!("tfidf_by_max_reversed", h.run(vec![key('a')]));
    insta::assert_snapshot!("tfidf_by_min", h.run(vec![key('i')]));
    insta::assert_snapshot!("tfidf_detail", h.run(vec![code(KeyCode::Enter)]));
    h.run(vec![code(KeyCode::Enter), key('e')]);
    let order: Vec<usize> = (0..3).map(|i| h.app_analysis().at(i).unwrap()).collect();
    assert_eq!(order, vec![1, 0, 2], "mean ascending");
    // No chart: g says so; .png is refused; .tsv writes upstream's columns.
    let f = h.run(vec![key('g')]);
    assert!(f.contains("tfidf has no chart"), "{f}");
    let f = h.run(save("t.png"));
    assert!(f.contains("has no chart"), "{f}");
    assert!(!tmp("t.png").exists());
    h.run(save("t.tsv"));
    let tsv = std::fs::read_to_string(tmp("t.tsv")).unwrap();
    assert_eq!(
        tsv.lines().take(2).collect::<Vec<_>>(),
        vec!["Min\tMean\tMax\tLog", "0.000\t0.100\t0.300\thost sshd[1]: line number 1"]
    );
}

impl H {
    fn app_analysis(&self) -> &super::analysis::AnalysisView {
        match &self.app.views[0] {
            View::Analysis(v) => v,
            _ => panic!("not an analysis view"),
        }
    }
}

#[test]
fn anomaly_reverse_and_empty() {
    let rows = logs(&[&[0.81], &[0.62], &[0.45]]);
    let mut h = H::new(init(Kind::Anomaly), Fake { rows, ..Fake::default() }, 60, 7);
    insta::assert_snapshot!("anomaly_first", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("anomaly_reversed", h.run(vec![key('r')]));
    let f = h.run(vec![key('h')]);
    assert!(f.contains("anomaly has no chart"), "{f}");
    let mut e = H::new(init(Kind::Anomaly), Fake::default(), 60, 5);
    insta::assert_snapshot!("anomaly_empty", e.run(vec![Input::WaitIdle]));
}

#[test]
fn delay_sorts_chart_and_saves() {
    let rows = logs(&[&[3.5], &[12.25], &[0.5], &[7.0]]);
    let mut h = H::new(init(Kind::Delay), Fake { rows, ..Fake::default() }, 80, 9);
    insta::assert_snapshot!("delay_first", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("delay_by_delay", h.run(vec![key('d')]));
    insta::assert_snapshot!("delay_by_delay_reversed", h.run(vec![key('d')]));
    h.run(vec![key('t')]);
    let chart = h.run(vec![key('g')]);
    assert!(chart.contains("TWSLA Delay"), "{chart}");
    match h.app.top() {
        View::Chart(c) => match &c.spec {
            crate::chart::ChartSpec::TimeSeries(t) => {
                let ys: Vec<f64> = t.series[0].points.iter().map(|p| p.1).collect();
                assert_eq!(ys, vec![3.5, 12.25, 0.5, 7.0], "delays in time order");
            }
            s => panic!("not a time series: {s:?}"),
        },
        _ => panic!("no chart view"),
    }
    h.run(vec![key('q')]);
    h.run(save("d.png"));
    let png = std::fs::read(tmp("d.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    h.run(save("d.html"));
    let html = std::fs::read_to_string(tmp("d.html")).unwrap();
    assert!(html.contains("TWSLA Delay"));
    // Resize: the table adapts.
    h.term.backend_mut().resize(40, 6);
    insta::assert_snapshot!("delay_resized_small", h.run(vec![code(KeyCode::Null), Input::Resize]));
}

#[test]
fn time_mark_recomputes_diff_and_stats() {
    let mut rows = logs(&[&[0.0], &[1.0], &[2.0], &[3.0]]);
    for (i, r) in rows.iter_mut().enumerate() {
        r.time = T0 + [0, 2, 5, 11][i] * SEC;
    }
    let stats = TimeSummary {
        rows: 4,
        mean: 11.0 / 3.0,
        median: 3.0,
        mode: vec![2.0, 3.0, 6.0],
        stddev: 1.7,
    };
    let fake = Fake { rows, extra: Some(Extra::Time(Some(stats))), ..Fake::default() };
    let mut h = H::new(init(Kind::Time), fake, 90, 9);
    insta::assert_snapshot!("time_first", h.run(vec![Input::WaitIdle]));
    let f = h.run(vec![code(KeyCode::Down), code(KeyCode::Down), key('m')]);
    insta::assert_snapshot!("time_marked_third", f);
    let v = h.app_analysis();
    assert_eq!((0..4).map(|j| v.diff(j) / SEC).collect::<Vec<_>>(), vec![-5, -3, 0, 6]);
    assert_eq!((0..4).map(|j| v.delta(j) / SEC).collect::<Vec<_>>(), vec![0, 2, 3, 6]);
    insta::assert_snapshot!("time_by_delta_reversed", h.run(vec![key('l'), key('l')]));
    h.run(vec![key('g')]);
    match h.app.top() {
        View::Chart(c) => assert_eq!(c.spec.title(), "TWSLA Delta Time"),
        _ => panic!("no chart view"),
    }
    h.run(vec![key('q')]);
    h.run(save("time.csv"));
    let csv = std::fs::read_to_string(tmp("time.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("Diff,Delta,Time,Log"));
}

#[test]
fn relation_sorts_and_graph() {
    let names = vec!["ip".to_string(), "mac".to_string()];
    let tuple = |a: &str, b: &str, c: f64| ARow {
        time: 0,
        nums: vec![c].into(),
        strs: vec![a.into(), b.into()].into(),
    };
    let rows = vec![
        tuple("10.0.0.2", "00:11:22:33:44:01", 30.0),
        tuple("10.0.0.1", "00:11:22:33:44:02", 12.0),
        tuple("10.0.0.1", "00:11:22:33:44:01", 5.0),
    ];
    let node = |id, column, v: &str, count| relation::Node {
        id,
        column,
        value: v.as_bytes().to_vec(),
        count,
    };
    let nodes = vec![
        node(0, 0, "10.0.0.2", 30),
        node(1, 0, "10.0.0.1", 17),
        node(2, 1, "00:11:22:33:44:01", 35),
        node(3, 1, "00:11:22:33:44:02", 12),
    ];
    let edge = |source, target, count| relation::Edge { source, target, count };
    let edges = vec![edge(0, 2, 30), edge(1, 3, 12), edge(1, 2, 5)];
    let fake = Fake { rows, extra: Some(Extra::Graph(nodes, edges)), ..Fake::default() };
    let mut h = H::new(init(Kind::Relation(names)), fake, 70, 8);
    insta::assert_snapshot!("relation_first", h.run(vec![Input::WaitIdle]));
    insta::assert_snapshot!("relation_by_col0", h.run(vec![key('0')]));
    insta::assert_snapshot!("relation_by_count", h.run(vec![key('c')]));
    insta::assert_snapshot!("relation_detail", h.run(vec![code(KeyCode::Enter)]));
    h.run(vec![code(KeyCode::Enter)]);
    h.run(vec![key('g')]);
    match h.app.top() {
        View::Chart(c) => match &c.spec {
            crate::chart::ChartSpec::Graph(g) => {
                assert_eq!(g.nodes.len(), 4);
                assert_eq!(g.edges[2], crate::chart::Edge { from: 1, to: 2, weight: 5 });
                assert_eq!(g.groups, vec!["ip", "mac"]);
            }
            s => panic!("not a graph: {s:?}"),
        },
        _ => panic!("no chart view"),
    }
    h.run(save("rel.png"));
    assert_eq!(&std::fs::read(tmp("rel.png")).unwrap()[..4], b"\x89PNG");
    h.run(vec![key('q')]);
    h.run(save("rel.html"));
    assert!(std::fs::read_to_string(tmp("rel.html")).unwrap().contains("TWSLA relation graph"));
}

fn heat_init(week: bool) -> Init {
    Init::Heatmap(HeatmapInit {
        week,
        search: SearchInit::default(),
        range: TimeRange { start: i64::MIN, end: i64::MAX },
    })
}

#[test]
fn heatmap_grid_drill_down_and_save() {
    let cell = |d, hour, count| HeatmapRow { day: Day::Date(d), hour, count };
    let cells = vec![cell(D0, 0, 3), cell(D0, 1, 1200), cell(D0 + 1, 1, 40), cell(D0 + 1, 23, 7)];
    let lines = vec![
        (T0 + 10 * SEC, "midnight".to_string()),
        (T0 + 3600 * SEC + 5 * SEC, "one o'clock a".to_string()),
        (T0 + 3600 * SEC + 9 * SEC, "one o'clock b".to_string()),
        (T0 + 7200 * SEC, "two o'clock".to_string()),
    ];
    let fake = Fake { extra: Some(Extra::Heatmap(cells)), lines, ..Fake::default() };
    let mut h = H::new(heat_init(false), fake, 90, 7);
    insta::assert_snapshot!("heatmap_grid", h.run(vec![Input::WaitIdle]));
    let f = h.run(vec![code(KeyCode::Right), code(KeyCode::Enter), Input::WaitIdle]);
    insta::assert_snapshot!("heatmap_drill_down", f);
    let seen = h.jobs.seen.lock().unwrap().clone();
    let Some(Job::Search(q)) = seen.last() else { panic!("no search: {seen:?}") };
    assert_eq!(q.range, Some(TimeRange { start: T0 + 3600 * SEC, end: T0 + 7200 * SEC - 1 }));
    h.run(vec![key('q')]);
    h.run(vec![key('g')]);
    match h.app.top() {
        View::Chart(c) => match &c.spec {
            crate::chart::ChartSpec::Heatmap(m) => {
                assert_eq!(m.x_labels, vec!["2024/01/01", "2024/01/02"]);
                assert_eq!(m.cells, vec![(0, 0, 3), (0, 1, 1200), (1, 1, 40), (1, 23, 7)]);
            }
            s => panic!("not a heatmap: {s:?}"),
        },
        _ => panic!("no chart view"),
    }
    h.run(vec![key('q')]);
    h.run(save("heat.png"));
    assert_eq!(&std::fs::read(tmp("heat.png")).unwrap()[..4], b"\x89PNG");
    h.run(save("heat.html"));
    assert!(std::fs::read_to_string(tmp("heat.html")).unwrap().contains("TWSLA Heatmap"));
    h.run(save("heat.csv"));
    let csv = std::fs::read_to_string(tmp("heat.csv")).unwrap();
    assert_eq!(csv.lines().take(2).collect::<Vec<_>>(), vec!["Date,Hour,Count", "2024/01/01,0,3"]);
    h.term.backend_mut().resize(40, 6);
    insta::assert_snapshot!(
        "heatmap_resized_small",
        h.run(vec![code(KeyCode::Null), Input::Resize])
    );
}

#[test]
fn heatmap_weekday_and_empty() {
    let cells = vec![HeatmapRow { day: Day::Weekday(1), hour: 9, count: 5 }];
    let fake = Fake { extra: Some(Extra::Heatmap(cells)), ..Fake::default() };
    let mut h = H::new(heat_init(true), fake, 90, 5);
    insta::assert_snapshot!("heatmap_weekday", h.run(vec![Input::WaitIdle]));
    // A weekday cell searches that hour of every such weekday.
    h.run(vec![code(KeyCode::Right), code(KeyCode::Enter), Input::WaitIdle]);
    let seen = h.jobs.seen.lock().unwrap().clone();
    let Some(Job::Search(q)) = seen.last() else { panic!("no search: {seen:?}") };
    assert_eq!((q.range, q.weekly), (None, Some((1, 1))));
    let f = h.run(vec![]);
    assert!(f.contains("[every Monday 01:00 +1h0m0s]"), "{f}");
    let mut e = H::new(heat_init(false), Fake::default(), 50, 4);
    insta::assert_snapshot!("heatmap_empty", e.run(vec![Input::WaitIdle]));
}

#[test]
fn heatmap_counts_fit_their_cells() {
    let short = super::analysis::short_for_tests;
    assert_eq!(short(7, 2), "7");
    assert_eq!(short(1200, 2), "1k");
    assert_eq!(short(1200, 4), "1200");
    assert_eq!(short(12_345, 4), "12k");
    assert_eq!(short(12_345, 5), "12345");
    assert_eq!(short(1_250_000, 4), "1.2M");
    assert_eq!(short(999_999_999_999_999, 1), "#");
}

#[test]
fn heatmap_table_sorts_and_drills_down() {
    let cell = |d, hour, count| HeatmapRow { day: Day::Date(d), hour, count };
    let cells = vec![cell(D0, 0, 3), cell(D0, 1, 1200), cell(D0 + 1, 1, 40), cell(D0 + 1, 23, 7)];
    let fake = Fake { extra: Some(Extra::Heatmap(cells)), ..Fake::default() };
    let mut h = H::new(heat_init(false), fake, 90, 8);
    h.run(vec![Input::WaitIdle]);
    insta::assert_snapshot!("heatmap_table_by_count", h.run(vec![key('c')]));
    insta::assert_snapshot!("heatmap_table_by_count_reversed", h.run(vec![key('c')]));
    h.run(save("heat_sorted.tsv"));
    let tsv = std::fs::read_to_string(tmp("heat_sorted.tsv")).unwrap();
    assert_eq!(
        tsv.lines().collect::<Vec<_>>(),
        vec![
            "Date\tHour\tCount",
            "2024/01/01\t1\t1200",
            "2024/01/02\t1\t40",
            "2024/01/02\t23\t7",
            "2024/01/01\t0\t3"
        ]
    );
    // The third row (2024/01/02 23:00) drills down to its hour.
    h.run(vec![code(KeyCode::Down), code(KeyCode::Down), code(KeyCode::Enter), Input::WaitIdle]);
    let seen = h.jobs.seen.lock().unwrap().clone();
    let Some(Job::Search(q)) = seen.last() else { panic!("no search: {seen:?}") };
    let start = T0 + (24 + 23) * 3600 * SEC;
    assert_eq!(q.range, Some(TimeRange { start, end: start + 3600 * SEC - 1 }));
    h.run(vec![key('q')]);
    insta::assert_snapshot!("heatmap_back_to_grid", h.run(vec![key('t')]));
}

/// Sends its rows, then waits until cancelled.
struct Slow(Vec<ARow>);

impl Jobs for Slow {
    fn run(&self, _job: &Job, sink: &mut Sink) -> anyhow::Result<Summary> {
        for r in &self.0 {
            sink.row(r.clone());
        }
        let t = std::time::Instant::now();
        while !sink.cancelled() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Summary { hits: 2, rows_read: 9 })
    }
}

#[test]
fn cancelling_an_analysis_keeps_its_rows() {
    let rows = logs(&[&[3.5], &[12.25]]);
    let mut app = App::new(init(Kind::Delay), true).unwrap();
    app.open_charts = false;
    let mut term = Terminal::new(TestBackend::new(60, 6)).unwrap();
    let mut worker = Worker::new(Arc::new(Slow(rows)));
    let opts = LoopOptions { tick: Duration::from_millis(1), frozen_clock: true };
    // Wait until the rows are in, then q cancels (not quit) and the view stays.
    let mut script = vec![Input::Tick; 5];
    script.extend([key('q'), Input::WaitIdle]);
    let t = std::time::Instant::now();
    while app.results() < 2 && t.elapsed() < Duration::from_secs(10) {
        let mut ev = Script(vec![Input::Tick].into());
        run_loop(&mut term, &mut app, &mut worker, &mut ev, opts).unwrap();
    }
    let mut ev = Script(script.into());
    run_loop(&mut term, &mut app, &mut worker, &mut ev, opts).unwrap();
    let frame = term.backend().to_string();
    assert!(!app.quit, "q during a job cancels it");
    assert!(frame.contains("(cancelled)"), "{frame}");
    assert!(frame.contains("12.250"), "{frame}");
}

/// Waits until cancelled, then emits its rows as a partial result (as tfidf, anomaly and a
/// sorted delay do), stopping only when the sink says so.
struct PartialAfterCancel(Vec<ARow>);

impl Jobs for PartialAfterCancel {
    fn run(&self, _job: &Job, sink: &mut Sink) -> anyhow::Result<Summary> {
        let t = std::time::Instant::now();
        while !sink.cancelled() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        for r in &self.0 {
            if sink.row(r.clone()) == crate::analyze::Flow::Stop {
                break;
            }
        }
        Ok(Summary { hits: 3, rows_read: 9 })
    }
}

#[test]
fn a_partial_result_emitted_after_the_cancel_is_kept_whole() {
    let rows = logs(&[&[1.5], &[2.5], &[3.5]]);
    let mut app = App::new(init(Kind::Anomaly), true).unwrap();
    app.open_charts = false;
    let mut term = Terminal::new(TestBackend::new(60, 8)).unwrap();
    let mut worker = Worker::new(Arc::new(PartialAfterCancel(rows)));
    let opts = LoopOptions { tick: Duration::from_millis(1), frozen_clock: true };
    let mut script = vec![Input::Tick; 3];
    script.extend([key('q'), Input::WaitIdle]);
    let mut ev = Script(script.into());
    run_loop(&mut term, &mut app, &mut worker, &mut ev, opts).unwrap();
    assert!(!app.quit);
    assert_eq!(app.results(), 3, "{}", term.backend());
}
