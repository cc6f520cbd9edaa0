//! `twsla tfidf`: rare lines (spec §6.4).
//!
//! Output: with `--ndjson`, one object per rare line
//! `{"time","source","line","text"[,"text_b64"],"min","mean","max"}` (a statistic is `null`
//! when the line has no term to compare); on a terminal a table `Min Mean Max Log` and a
//! summary line; otherwise tab-separated `text min mean max` (tabs and newlines inside the
//! text become spaces).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::args::{Global, TfidfArgs};
use super::{bytes_field, filter_spec, ndjson, time_range};
use crate::analyze::Flow;
use crate::analyze::tfidf::{self, TfidfConfig};
use crate::output::human;
use crate::query::Filter;
use crate::store::Store;

/// Flattens a text to one line for tabular output.
pub(super) fn one_line(text: &[u8]) -> String {
    String::from_utf8_lossy(text).replace(['\t', '\n', '\r'], " ")
}

pub(super) fn tfidf_cmd(g: &Global, a: &TfidfArgs) -> Result<ExitCode> {
    if !a.limit.is_finite() {
        bail!("-l/--limit {}: give a number (a similarity, usually between 0 and 1)", a.limit);
    }
    let cfg = TfidfConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        limit: a.limit,
        count: a.count,
        top: a.top,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::tfidf(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let tty = io::stdout().is_terminal() && !a.ndjson;
    if tty {
        writeln!(out, "{:>6} {:>6} {:>6}  Log", "Min", "Mean", "Max")?;
    }
    let started = std::time::Instant::now();
    let st = tfidf::tfidf(&store, &cfg, &mut |r| {
        if a.ndjson {
            let mut head = serde_json::Map::new();
            head.insert("time".into(), crate::model::format_rfc3339(r.time, g.utc).into());
            head.insert("source".into(), store.source_path(r.source).into());
            head.insert("line".into(), r.line.into());
            let rest = serde_json::json!({"min": r.sim.min, "mean": r.sim.mean, "max": r.sim.max});
            if let serde_json::Value::Object(m) = bytes_field("text", &r.text, rest) {
                head.extend(m);
            }
            ndjson::write_value(&mut out, &serde_json::Value::Object(head))?;
        } else if tty {
            writeln!(
                out,
                "{:>6.3} {:>6.3} {:>6.3}  {}",
                r.sim.min,
                r.sim.mean,
                r.sim.max,
                one_line(&r.text)
            )?;
        } else {
            writeln!(out, "{}\t{}\t{}\t{}", one_line(&r.text), r.sim.min, r.sim.mean, r.sim.max)?;
        }
        Ok(Flow::Continue)
    })?;
    if tty {
        writeln!(
            out,
            "Results {}/{}/{} s:{}",
            human::comma(st.rare),
            human::comma(st.hits),
            human::comma(st.scan.rows_read),
            human::go_duration(std::time::Duration::from_millis(
                started.elapsed().as_millis() as u64
            ))
        )?;
    }
    out.flush()?;
    Ok(super::exit_code(st.hits > 0))
}
