//! Opening the terminal UI for `search`, `count`, `extract` and the analyzers `tfidf`,
//! `anomaly`, `delay`, `heatmap`, `time` and `relation` (stdout is a terminal and no
//! `--ndjson`): the jobs the UI runs are the same analyses the NDJSON path calls, over the
//! store, which only this side sees.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};

use super::args::{
    AnomalyArgs, CountArgs, DelayArgs, ExtractArgs, Global, HeatmapArgs, SearchArgs, TfidfArgs,
    TimeArgs,
};
use crate::analyze::anomaly::AnomalyConfig;
use crate::analyze::count::{self, CountBy, CountConfig};
use crate::analyze::delay::DelayConfig;
use crate::analyze::extract::{self, ExtractConfig};
use crate::analyze::heatmap::HeatmapConfig;
use crate::analyze::relation::RelationConfig;
use crate::analyze::search;
use crate::analyze::tfidf::TfidfConfig;
use crate::analyze::timeview::TimeConfig;
use crate::query::{Filter, FilterSpec, TimeRange};
use crate::store::Store;
use crate::tui::{
    self, ARow, AnalysisInit, CountInit, Extra, ExtractInit, HeatmapInit, Init, Job, Jobs, Kind,
    LogLine, SearchInit, Sink, Summary,
};

/// Whether a command shows the UI: stdout is a terminal and `--ndjson` is not given.
pub(super) fn wanted(ndjson: bool) -> bool {
    use std::io::IsTerminal;
    !ndjson && std::io::stdout().is_terminal()
}

/// The analyses behind the UI.
struct CliJobs {
    store: Store,
    spec: FilterSpec,
    range: TimeRange,
    limit: Option<u64>,
    reverse: bool,
    /// `--utc` (weekly drill-downs cut local hours unless set).
    utc: bool,
    count: Option<CountConfig>,
    extract: Option<ExtractConfig>,
    analysis: Option<Analysis>,
}

/// The ranges of a weekday heatmap cell inside the store's time span and `range`.
fn weekly_ranges(
    store: &Store,
    range: TimeRange,
    weekday: u8,
    hour: u8,
    utc: bool,
) -> Vec<TimeRange> {
    let segs = &store.manifest().segments;
    let (Some(lo), Some(hi)) =
        (segs.iter().map(|s| s.min_ts).min(), segs.iter().map(|s| s.max_ts).max())
    else {
        return Vec::new();
    };
    let span = TimeRange { start: lo.max(range.start), end: hi.min(range.end) };
    crate::analyze::heatmap::weekly_ranges(span, weekday, hour, utc)
}

/// An analyzer run for the UI: the same operator call the NDJSON path makes, its rows sent
/// to the sink.
type Analysis = Box<dyn Fn(&Store, &mut Sink) -> Result<Summary> + Send + Sync>;

impl Jobs for CliJobs {
    fn run(&self, job: &Job, sink: &mut Sink) -> Result<Summary> {
        match job {
            Job::Search(q) => {
                let spec = FilterSpec { args: q.filters.clone(), ..self.spec.clone() };
                let range = match q.range {
                    Some(r) => TimeRange {
                        start: r.start.max(self.range.start),
                        end: r.end.min(self.range.end),
                    },
                    None => self.range,
                };
                let filter = Filter::new(&spec)?;
                let ranges = match q.weekly {
                    None => vec![range],
                    Some((weekday, hour)) => {
                        let mut r = weekly_ranges(&self.store, range, weekday, hour, self.utc);
                        if self.reverse {
                            r.reverse();
                        }
                        r
                    }
                };
                let (mut sum, mut shown) = (Summary::default(), 0u64);
                for range in ranges {
                    let cfg = search::SearchConfig {
                        filter: filter.clone(),
                        range,
                        limit: self.limit.map(|l| l.saturating_sub(shown)),
                        reverse: self.reverse,
                    };
                    if cfg.limit == Some(0) {
                        break;
                    }
                    let mut stopped = false;
                    let st = search::search(&self.store, &cfg, &mut |row| {
                        shown += 1;
                        let text = String::from_utf8_lossy(row.text).into_owned().into_boxed_str();
                        let flow = sink.line(LogLine { ts: row.ts, text });
                        stopped = flow == crate::analyze::Flow::Stop;
                        Ok(flow)
                    })?;
                    (sum.hits, sum.rows_read) = (sum.hits + st.hits, sum.rows_read + st.rows_read);
                    if stopped || sink.cancelled() {
                        break;
                    }
                }
                Ok(sum)
            }
            Job::Count => {
                let cfg = self.count.as_ref().ok_or_else(|| anyhow!("no count configured"))?;
                let (rows, st) = count::count(&self.store, cfg)?;
                sink.counted(rows, st);
                Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
            }
            Job::Extract => {
                let cfg =
                    self.extract.as_ref().ok_or_else(|| anyhow!("no extraction configured"))?;
                let st =
                    extract::extract(&self.store, cfg, &mut |r| Ok(sink.extracted(r.clone())))?;
                Ok(Summary { hits: st.hits, rows_read: st.rows_read })
            }
            Job::Analysis => {
                let run =
                    self.analysis.as_ref().ok_or_else(|| anyhow!("no analysis configured"))?;
                run(&self.store, sink)
            }
        }
    }
}

fn spec(g: &Global, args: &[String]) -> FilterSpec {
    FilterSpec {
        simple: g.filter.clone(),
        regex: g.regex.clone(),
        not: g.not.clone(),
        args: args.to_vec(),
    }
}

fn search_init(g: &Global, filters: &[String]) -> SearchInit {
    SearchInit {
        query: tui::SearchQuery { filters: filters.to_vec(), range: None, weekly: None },
        simple: g.filter.iter().cloned().collect(),
        regex: g.regex.clone(),
        ..SearchInit::default()
    }
}

fn open(init: Init, jobs: CliJobs, g: &Global) -> Result<ExitCode> {
    let mut app = tui::App::new(init, g.utc).map_err(|e| anyhow!(e))?;
    app.sixel = g.sixel;
    let app = tui::open(app, Arc::new(jobs))?;
    Ok(super::exit_code(app.results() > 0))
}

/// `search` in the UI.
pub(super) fn search(g: &Global, a: &SearchArgs, range: TimeRange) -> Result<ExitCode> {
    let spec = spec(g, &a.filters);
    Filter::new(&spec)?;
    let mut init = search_init(g, &a.filters);
    init.color = a.color.clone();
    init.wrap = a.wrap;
    let jobs = CliJobs {
        store: Store::open(&g.datastore)?,
        spec,
        range,
        limit: a.limit,
        reverse: a.reverse,
        utc: g.utc,
        count: None,
        extract: None,
        analysis: None,
    };
    open(Init::Search(init), jobs, g)
}

/// `count` in the UI, with `cfg` built as for NDJSON.
pub(super) fn count(g: &Global, a: &CountArgs, cfg: CountConfig) -> Result<ExitCode> {
    let (time_mode, name) = match (&cfg.by, a.extract.as_deref()) {
        (CountBy::Time(_), _) => (true, "Time".to_string()),
        (_, Some("normalize")) => (false, "Normalized Pattern".into()),
        (_, Some("word")) => (false, "Word".into()),
        _ if !a.key.name.is_empty() => (false, a.key.name.clone()),
        _ => (false, "Key".into()),
    };
    let init = CountInit {
        name,
        time_mode,
        normalize: a.extract.as_deref() == Some("normalize"),
        search: search_init(g, &a.filters),
        range: cfg.range,
    };
    let jobs = CliJobs {
        store: Store::open(&g.datastore)?,
        spec: spec(g, &a.filters),
        range: cfg.range,
        limit: None,
        reverse: false,
        utc: g.utc,
        count: Some(cfg),
        extract: None,
        analysis: None,
    };
    open(Init::Count(init), jobs, g)
}

/// `extract` in the UI, with `cfg` built as for NDJSON.
pub(super) fn extract(g: &Global, a: &ExtractArgs, cfg: ExtractConfig) -> Result<ExitCode> {
    let name = if a.key.name.is_empty() { "Value".to_string() } else { a.key.name.clone() };
    let jobs = CliJobs {
        store: Store::open(&g.datastore)?,
        spec: spec(g, &a.filters),
        range: cfg.range,
        limit: None,
        reverse: false,
        utc: g.utc,
        count: None,
        extract: Some(cfg),
        analysis: None,
    };
    open(Init::Extract(ExtractInit { name, stats: a.stats }), jobs, g)
}

/// Jobs of an analyzer view: `run`, and searches (drill-down) with the command's filters.
fn analysis_jobs(
    g: &Global,
    filters: &[String],
    range: TimeRange,
    run: Analysis,
) -> Result<CliJobs> {
    Ok(CliJobs {
        store: Store::open(&g.datastore)?,
        spec: spec(g, filters),
        range,
        limit: None,
        reverse: false,
        utc: g.utc,
        count: None,
        extract: None,
        analysis: Some(run),
    })
}

fn open_analysis(
    g: &Global,
    init: AnalysisInit,
    filters: &[String],
    range: TimeRange,
    run: Analysis,
) -> Result<ExitCode> {
    let jobs = analysis_jobs(g, filters, range, run)?;
    open(Init::Analysis(init), jobs, g)
}

/// `tfidf` in the UI, with `cfg` built as for NDJSON.
pub(super) fn tfidf(g: &Global, a: &TfidfArgs, cfg: TfidfConfig) -> Result<ExitCode> {
    let range = cfg.range;
    let run: Analysis = Box::new(move |store, sink| {
        let st = crate::analyze::tfidf::tfidf(store, &cfg, &mut |r| {
            Ok(sink.row(ARow::log(r.time, &[r.sim.min, r.sim.mean, r.sim.max], &r.text)))
        })?;
        Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
    });
    open_analysis(g, AnalysisInit { kind: Kind::Tfidf, mark: 0 }, &a.filters, range, run)
}

/// `anomaly` in the UI, with `cfg` built as for NDJSON.
pub(super) fn anomaly(g: &Global, a: &AnomalyArgs, cfg: AnomalyConfig) -> Result<ExitCode> {
    let range = cfg.range;
    let run: Analysis = Box::new(move |store, sink| {
        let st = crate::analyze::anomaly::anomaly(store, &cfg, &mut |r| {
            Ok(sink.row(ARow::log(r.time, &[r.score], &r.text)))
        })?;
        Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
    });
    open_analysis(g, AnalysisInit { kind: Kind::Anomaly, mark: 0 }, &a.filters, range, run)
}

/// `delay` in the UI, with `cfg` built as for NDJSON.
pub(super) fn delay(g: &Global, a: &DelayArgs, cfg: DelayConfig) -> Result<ExitCode> {
    let range = cfg.range;
    let run: Analysis = Box::new(move |store, sink| {
        let st = crate::analyze::delay::delay(store, &cfg, &mut |r| {
            Ok(sink.row(ARow::log(r.time, &[r.delay as f64 / 1e9], &r.text)))
        })?;
        Ok(Summary { hits: st.rows, rows_read: st.scan.rows_read })
    });
    open_analysis(g, AnalysisInit { kind: Kind::Delay, mark: 0 }, &a.filters, range, run)
}

/// `time` in the UI, with `cfg` built as for NDJSON (the view recomputes Diff from its mark).
pub(super) fn time(g: &Global, a: &TimeArgs, cfg: TimeConfig) -> Result<ExitCode> {
    let range = cfg.range;
    let mark = cfg.mark;
    let cfg = TimeConfig { mark: 0, ..cfg };
    let run: Analysis = Box::new(move |store, sink| {
        let mut rows = 0u64;
        let (summary, st) = crate::analyze::timeview::time_rows(store, &cfg, &mut |r| {
            rows += 1;
            Ok(sink.row(ARow::log(r.time, &[r.index as f64], r.text)))
        })?;
        sink.extra(Extra::Time(summary));
        if rows > 0 && mark >= rows {
            // As the NDJSON path: the view keeps the rows, Diff counts from the first.
            bail!("--mark {mark} is out of range: {rows} row(s) found, numbered from 0");
        }
        Ok(Summary { hits: rows, rows_read: st.rows_read })
    });
    open_analysis(
        g,
        AnalysisInit { kind: Kind::Time, mark: usize::try_from(a.mark).unwrap_or(usize::MAX) },
        &a.filters,
        range,
        run,
    )
}

/// `relation` in the UI: the tuples as rows, the graph as extra data.
pub(super) fn relation(
    g: &Global,
    filters: &[String],
    names: Vec<String>,
    cfg: RelationConfig,
) -> Result<ExitCode> {
    let range = cfg.range;
    let run: Analysis = Box::new(move |store, sink| {
        let (rel, st) = crate::analyze::relation::relation(store, &cfg)?;
        for t in &rel.tuples {
            let strs: Vec<Box<str>> = t
                .values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned().into_boxed_str())
                .collect();
            let row = ARow { time: 0, nums: vec![t.count as f64].into(), strs: strs.into() };
            if sink.row(row) == crate::analyze::Flow::Stop {
                break;
            }
        }
        sink.extra(Extra::Graph(rel.nodes, rel.edges));
        Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
    });
    open_analysis(g, AnalysisInit { kind: Kind::Relation(names), mark: 0 }, filters, range, run)
}

/// `heatmap` in the UI: the grid; a date cell drills down to the search of its hour.
pub(super) fn heatmap(g: &Global, a: &HeatmapArgs, cfg: HeatmapConfig) -> Result<ExitCode> {
    let range = cfg.range;
    let init = HeatmapInit { week: a.week, search: search_init(g, &a.filters), range };
    let run: Analysis = Box::new(move |store, sink| {
        let (rows, st) = crate::analyze::heatmap::heatmap(store, &cfg)?;
        sink.extra(Extra::Heatmap(rows));
        Ok(Summary { hits: st.hits, rows_read: st.scan.rows_read })
    });
    let jobs = analysis_jobs(g, &a.filters, range, run)?;
    open(Init::Heatmap(init), jobs, g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::heatmap::{self, Day, HeatmapBy, HeatmapConfig};
    use crate::tui::{Msg, SearchQuery, Worker};

    fn jobs(store: Store, limit: Option<u64>, reverse: bool) -> CliJobs {
        CliJobs {
            store,
            spec: FilterSpec::default(),
            range: TimeRange::ALL,
            limit,
            reverse,
            utc: true,
            count: None,
            extract: None,
            analysis: None,
        }
    }

    fn lines(jobs: CliJobs, q: SearchQuery) -> (Vec<LogLine>, Summary) {
        let mut w = Worker::new(Arc::new(jobs));
        w.start(Job::Search(q));
        let mut out = Vec::new();
        while let Some(m) = w.recv_until_done(std::time::Duration::from_secs(60)) {
            match m {
                Msg::Lines(l) => out.extend(l),
                Msg::Done { result, .. } => return (out, result.unwrap()),
                m => panic!("unexpected {m:?}"),
            }
        }
        panic!("no end")
    }

    /// Drilling down from a weekday heatmap cell finds exactly the records the cell counts,
    /// in time order (reversed with `--reverse`), within `--limit`.
    #[test]
    fn weekday_cells_drill_down_to_their_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub");
        let mut w = crate::store::StoreWriter::open(&path, Default::default()).unwrap();
        let opts = crate::ingest::ImportOptions { utc: true, ..Default::default() };
        let inputs = [data.join("Linux/Linux_2k.log").display().to_string()];
        crate::ingest::run_import(
            &mut w,
            &inputs,
            &opts,
            Default::default(),
            &crate::ingest::Quiet,
        )
        .unwrap();
        drop(w);
        let open = || Store::open(&path).unwrap();
        let cfg = HeatmapConfig {
            filter: Filter::default(),
            range: TimeRange::ALL,
            by: HeatmapBy::Weekday,
            utc: true,
        };
        let (cells, _) = heatmap::heatmap(&open(), &cfg).unwrap();
        // Linux_2k spans weeks: some cells gather records of several dates.
        assert!(cells.len() > 20, "{}", cells.len());
        let by_date =
            heatmap::heatmap(&open(), &HeatmapConfig { by: HeatmapBy::Date, ..cfg.clone() })
                .unwrap()
                .0;
        let mut checked_multi_day = false;
        for c in &cells {
            let Day::Weekday(wd) = c.day else { panic!() };
            let q = SearchQuery { filters: vec![], range: None, weekly: Some((wd, c.hour)) };
            let (got, sum) = lines(jobs(open(), None, false), q.clone());
            assert_eq!(got.len() as u64, c.count, "{c:?}");
            assert_eq!(sum.hits, c.count);
            assert!(got.windows(2).all(|p| p[0].ts <= p[1].ts));
            let dates = by_date
                .iter()
                .filter(|d| d.hour == c.hour)
                .filter(|d| matches!(d.day, Day::Date(n) if (n + 4).rem_euclid(7) == i64::from(wd)))
                .count();
            checked_multi_day |= dates > 1;
            let (rev, _) = lines(jobs(open(), None, true), q.clone());
            assert!(rev.iter().rev().map(|l| l.ts).eq(got.iter().map(|l| l.ts)));
            let (lim, _) = lines(jobs(open(), Some(2), false), q);
            assert_eq!(lim, got[..got.len().min(2)].to_vec());
        }
        assert!(checked_multi_day);
    }
}
