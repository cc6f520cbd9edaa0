//! `twsla anomaly`: isolation-forest anomaly scores (spec §6.5).
//!
//! Output: with `--ndjson`, one object per scored line, highest score first:
//! `{"time","source","line","text"[,"text_b64"],"score"}`; on a terminal a table
//! `Score Log` and a summary line; otherwise tab-separated `text score`.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::args::{AnomalyArgs, Global};
use super::tfidf::one_line;
use super::{bytes_field, filter_spec, ndjson, time_range};
use crate::analyze::Flow;
use crate::analyze::anomaly::{self, AnomalyConfig, Mode, features::NumberWindow, forest::Params};
use crate::output::human;
use crate::query::Filter;
use crate::store::Store;

pub(super) fn anomaly_cmd(g: &Global, a: &AnomalyArgs) -> Result<ExitCode> {
    if a.trees == 0 || a.sample == 0 {
        bail!("--trees and --sample must be at least 1");
    }
    let extract = a.extract.as_deref().filter(|e| !e.is_empty());
    if extract.is_some() && a.mode != Mode::Number {
        bail!("-e/--extract is the window of -m number ('pre*suf'); it does nothing in this mode");
    }
    let mut spec = filter_spec(g, &a.filters);
    // Upstream: in number mode, -e also filters when no other filter is given.
    if let Some(e) = extract
        && spec.simple.is_none()
        && spec.regex.is_none()
        && spec.not.is_none()
        && spec.args.is_empty()
    {
        spec.simple = Some(e.to_string());
    }
    let cfg = AnomalyConfig {
        filter: Filter::new(&spec)?,
        range: time_range(g)?,
        mode: a.mode,
        part: a.part,
        window: extract.map(NumberWindow::parse).unwrap_or_default(),
        params: Params { trees: a.trees, sample: a.sample, seed: a.seed },
        top: a.top,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::anomaly(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let tty = io::stdout().is_terminal() && !a.ndjson;
    if tty {
        writeln!(out, "{:>6}  Log", "Score")?;
    }
    let started = std::time::Instant::now();
    let st = anomaly::anomaly(&store, &cfg, &mut |r| {
        if a.ndjson {
            let mut head = serde_json::Map::new();
            head.insert("time".into(), crate::model::format_rfc3339(r.time, g.utc).into());
            head.insert("source".into(), store.source_path(r.source).into());
            head.insert("line".into(), r.line.into());
            if let serde_json::Value::Object(m) =
                bytes_field("text", &r.text, serde_json::json!({"score": r.score}))
            {
                head.extend(m);
            }
            ndjson::write_value(&mut out, &serde_json::Value::Object(head))?;
        } else if tty {
            writeln!(out, "{:>6.3}  {}", r.score, one_line(&r.text))?;
        } else {
            writeln!(out, "{}\t{}", one_line(&r.text), r.score)?;
        }
        Ok(Flow::Continue)
    })?;
    if st.skipped > 0 && a.mode == Mode::Number {
        eprintln!(
            "twsla: warning: {} lines had no numbers in the window or another count of numbers \
             than the first line ({}); they were skipped",
            human::comma(st.skipped),
            st.dim
        );
    }
    if tty {
        writeln!(
            out,
            "Results {}/{} {} s:{}",
            human::comma(st.hits),
            human::comma(st.scan.rows_read),
            human::comma(st.scored),
            human::go_duration(std::time::Duration::from_millis(
                started.elapsed().as_millis() as u64
            ))
        )?;
    }
    out.flush()?;
    Ok(super::exit_code(st.scored > 0))
}
