//! `twsla import`: the import screen or the progress line on stderr, and the summary.
//!
//! The screen ([`crate::tui::import`]) is shown when stdout is a terminal, `--ndjson` and
//! `--quiet` are not given and no input is `-` (the screen's keyboard must not read the data
//! on stdin); otherwise the one-line progress goes to stderr when it is a terminal. After the
//! screen, the problems and the summary are printed as without it, so they stay in the
//! scrollback. Without the screen, Ctrl-C (SIGINT) cancels the same way (unix): what was read
//! is committed, and a second Ctrl-C ends the process at once (exit 130).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};

use super::args::{Global, ImportArgs};
use super::{filter_spec, regex_arg, time_range};
use crate::ingest::{self, Grouping, ImportObserver, ImportOptions, Problem, Progress};
use crate::output::{human, ndjson};
use crate::query::{Filter, filter};
use crate::store::{CompactPolicy, SegmentOptions, StoreWriter};

struct Reporter {
    tty: bool,
    quiet: bool,
    /// Set by the first SIGINT.
    interrupted: Arc<AtomicBool>,
}

/// SIGINT handlers for the time of an import: the first signal sets the flag (the import
/// stops at record boundaries and commits), the next one exits at once with 130. Without
/// them (not unix, or registration failed) Ctrl-C ends the process as before.
struct Interrupt {
    flag: Arc<AtomicBool>,
    #[cfg(unix)]
    ids: Vec<signal_hook::SigId>,
}

impl Interrupt {
    fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGINT;
            use signal_hook::flag;
            // Order matters: the exit is armed by the flag the second handler sets.
            let ids = [
                flag::register_conditional_shutdown(SIGINT, 130, flag.clone()),
                flag::register(SIGINT, flag.clone()),
            ]
            .into_iter()
            .filter_map(Result::ok)
            .collect();
            Interrupt { flag, ids }
        }
        #[cfg(not(unix))]
        Interrupt { flag }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        #[cfg(unix)]
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

impl ImportObserver for Reporter {
    fn progress(&self, p: &Progress) {
        if self.tty && !self.quiet {
            let secs = p.elapsed.as_secs_f64().max(1e-3);
            let mut cur = p.current.clone();
            if cur.chars().count() > 40 {
                let tail: String =
                    cur.chars().rev().take(39).collect::<Vec<_>>().into_iter().rev().collect();
                cur = format!("…{tail}");
            }
            eprint!(
                "\r\x1b[2KLoading path={cur} line={} byte={} {}/s{}",
                human::comma(p.lines),
                human::bytes(p.bytes),
                human::bytes((p.bytes as f64 / secs) as u64),
                if p.cancelling { " cancelling… (Ctrl-C again: stop at once)" } else { "" }
            );
        }
    }
    fn cancelled(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }
    fn problem(&self, p: &Problem) {
        if self.tty && !self.quiet {
            eprint!("\r\x1b[2K");
        }
        eprintln!("twsla: warning: {p}");
    }
}

pub(super) fn import(g: &Global, a: &ImportArgs) -> Result<ExitCode> {
    let mut sources: Vec<String> = a.source.iter().cloned().collect();
    sources.extend(a.sources.iter().cloned());
    if sources.is_empty() {
        bail!("no source given: twsla import FILE|DIR|ARCHIVE|- ...");
    }
    if a.ml_inspect {
        return inspect(g, a, &sources);
    }
    let grouping = if let Some(p) = &a.ml_start {
        Grouping::Start(regex_arg("--mlStart", p)?)
    } else if let Some(p) = &a.ml_sep {
        Grouping::Separator(regex_arg("--mlSep", p)?)
    } else if a.ml_lines > 0 {
        Grouping::Lines(a.ml_lines)
    } else {
        Grouping::Timestamp
    };
    let file_pat = match a.file_pat.as_deref().and_then(filter::simple_filter_regex) {
        Some(p) => Some(regex_arg("--filePat", &p)?),
        None => None,
    };
    let opts = ImportOptions {
        utc: g.utc,
        no_ts: a.no_ts,
        grouping,
        range: time_range(g)?,
        filter: Filter::new(&filter_spec(g, &[]))?,
        file_pat,
        max_line: a.max_line.max(1),
        ..ImportOptions::default()
    };
    let mut writer = StoreWriter::open(&g.datastore, SegmentOptions::default())?;
    let failed =
        || format!("import into {} failed; the store keeps its last commit", g.datastore.display());
    let policy = CompactPolicy::default();
    let screen = !a.quiet && super::tui::wanted(a.ndjson) && !sources.iter().any(|s| s == "-");
    let mut report = None;
    if screen {
        let monitor = crate::tui::import::Monitor::new();
        let ran = AtomicBool::new(false);
        let shown = crate::tui::import::show(&g.datastore.display().to_string(), &monitor, |m| {
            ran.store(true, Ordering::Relaxed);
            ingest::run_import(&mut writer, &sources, &opts, policy, m)
        });
        match shown {
            Ok(r) => {
                let r = r.with_context(failed)?;
                // The screen is gone: print its problems where they stay.
                for p in &r.problems {
                    eprintln!("twsla: warning: {p}");
                }
                report = Some(r);
            }
            Err(e) if !ran.load(Ordering::Relaxed) => {
                eprintln!("twsla: warning: {e:#}; importing without the progress screen");
            }
            Err(e) => return Err(e),
        }
    }
    let report = match report {
        Some(r) => r,
        None => {
            let interrupt = Interrupt::install();
            let reporter = Reporter {
                tty: io::stderr().is_terminal(),
                quiet: a.quiet,
                interrupted: interrupt.flag.clone(),
            };
            let r = ingest::run_import(&mut writer, &sources, &opts, policy, &reporter)
                .with_context(failed)?;
            drop(interrupt);
            if reporter.tty && !a.quiet {
                eprint!("\r\x1b[2K");
            }
            r
        }
    };
    if report.cancelled && !a.quiet {
        eprintln!(
            "twsla: import cancelled: the records read were committed ({} inputs cut short, {} not started); run the same import again to read the rest",
            report.incomplete, report.not_started
        );
    }
    let mut out = io::stdout().lock();
    if a.ndjson {
        ndjson::write_value(&mut out, &report)?;
    } else if !a.quiet {
        writeln!(
            out,
            "Total file={} line={} byte={} time={}",
            human::comma(report.files),
            human::comma(report.lines),
            human::bytes(report.bytes),
            human::go_duration(report.elapsed)
        )?;
        let mut extra = Vec::new();
        // New sources matter once some input was imported before (or is left for later).
        if report.new_sources > 0 && (report.unchanged > 0 || report.grown > 0 || report.cancelled)
        {
            extra.push(format!("new={}", human::comma(report.new_sources)));
        }
        if report.grown > 0 {
            extra.push(format!("grown={}", human::comma(report.grown)));
        }
        if report.unchanged > 0 {
            extra.push(format!("unchanged={}", human::comma(report.unchanged)));
        }
        if report.out_of_range > 0 {
            extra.push(format!("outOfRange={}", human::comma(report.out_of_range)));
        }
        if report.filtered > 0 {
            extra.push(format!("filtered={}", human::comma(report.filtered)));
        }
        if report.skipped_lines > 0 {
            extra.push(format!("skippedLines={}", human::comma(report.skipped_lines)));
        }
        if !report.problems.is_empty() {
            extra.push(format!("problems={}", report.problems.len()));
        }
        if report.cancelled {
            extra.push(format!(
                "cancelled=true incomplete={} notStarted={} segments={}",
                human::comma(report.incomplete),
                human::comma(report.not_started),
                human::comma(report.segments)
            ));
        }
        if !extra.is_empty() {
            writeln!(out, "  records={} {}", human::comma(report.records), extra.join(" "))?;
        }
    }
    out.flush()?;
    Ok(if report.problems.is_empty() && report.skipped_lines == 0 && !report.cancelled {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn inspect(g: &Global, a: &ImportArgs, sources: &[String]) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut failed = false;
    for src in sources {
        match ingest::inspect::inspect_path(std::path::Path::new(src), g.utc) {
            Ok(ins) if a.ndjson => {
                ndjson::write_value(
                    &mut out,
                    &serde_json::json!({"source": src, "inspection": ins}),
                )?;
            }
            Ok(ins) => {
                writeln!(out, "Inspecting {src}...")?;
                if ins.lines == 0 {
                    writeln!(out, "No lines found to inspect.")?;
                    continue;
                }
                writeln!(out, "Found {} timestamps in {} lines.", ins.timestamps, ins.lines)?;
                if let Some(re) = &ins.ml_start {
                    writeln!(out, "Suggested setting (by timestamp start): --mlStart '{re}'")?;
                }
                if let Some(n) = ins.ml_lines {
                    writeln!(out, "Suggested setting (by fixed lines): --mlLines {n}")?;
                }
                if let Some(re) = &ins.ml_sep {
                    writeln!(out, "Suggested setting (by separator): --mlSep '{re}'")?;
                }
                if ins.timestamps == 0 {
                    writeln!(out, "No timestamp found: import with --noTS, or check the format.")?;
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("twsla: warning: {src}: cannot inspect: {e}");
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
