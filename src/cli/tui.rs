//! Opening the terminal UI for `search`, `count` and `extract` (stdout is a terminal and no
//! `--ndjson`): the jobs the UI runs are the same analyses the NDJSON path calls, over the
//! store, which only this side sees.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow};

use super::args::{CountArgs, ExtractArgs, Global, SearchArgs};
use crate::analyze::count::{self, CountBy, CountConfig};
use crate::analyze::extract::{self, ExtractConfig};
use crate::analyze::search;
use crate::query::{Filter, FilterSpec, TimeRange};
use crate::store::Store;
use crate::tui::{
    self, CountInit, ExtractInit, Init, Job, Jobs, LogLine, SearchInit, Sink, Summary,
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
    count: Option<CountConfig>,
    extract: Option<ExtractConfig>,
}

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
                let cfg = search::SearchConfig {
                    filter: Filter::new(&spec)?,
                    range,
                    limit: self.limit,
                    reverse: self.reverse,
                };
                let st = search::search(&self.store, &cfg, &mut |row| {
                    let text = String::from_utf8_lossy(row.text).into_owned().into_boxed_str();
                    Ok(sink.line(LogLine { ts: row.ts, text }))
                })?;
                Ok(Summary { hits: st.hits, rows_read: st.rows_read })
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
        query: tui::SearchQuery { filters: filters.to_vec(), range: None },
        simple: g.filter.iter().cloned().collect(),
        regex: g.regex.clone(),
        ..SearchInit::default()
    }
}

fn open(init: Init, jobs: CliJobs, g: &Global) -> Result<ExitCode> {
    let mut app = tui::App::new(init, g.utc).map_err(|e| anyhow!(e))?;
    app.sixel = g.sixel;
    let app = tui::open(app, Arc::new(jobs))?;
    Ok(if app.results() > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
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
        count: None,
        extract: None,
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
        count: Some(cfg),
        extract: None,
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
        count: None,
        extract: Some(cfg),
    };
    open(Init::Extract(ExtractInit { name, stats: a.stats }), jobs, g)
}
