//! The `delay`, `heatmap`, `time` and `relation` commands: connect the operators to NDJSON
//! (`--ndjson`), a table (a terminal) or tab-separated text (a pipe or file).
//!
//! NDJSON rows:
//! * delay: `{"time","delay","source","line","text"}` (`delay` in seconds);
//! * heatmap: `{"date":"YYYY-MM-DD","hour","count"}`, or with `-w`
//!   `{"weekday":"Sunday","hour","count"}`;
//! * time: `{"kind":"row","index","time","diff","delta","source","line","text"}` per record
//!   (seconds), then `{"kind":"stats","rows","mean","median","mode":[...],"stddev"}` when
//!   there are two rows or more;
//! * relation: `{"kind":"tuple","values":[...],"count"}` per tuple (count descending), then
//!   the graph: `{"kind":"node","id","column","item","value","count"}` and
//!   `{"kind":"edge","source","target","count"}` (`source`/`target` are node ids; edges link
//!   values of adjacent columns).
//!
//! Text that is not UTF-8 is written with U+FFFD and, losslessly, base64 in a `<name>_b64`
//! field.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use super::args::{DelayArgs, DelaySort, Global, HeatmapArgs, RelationArgs, TimeArgs};
use super::{bytes_field, filter_spec, secs, time_range};
use crate::analyze::Flow;
use crate::model::format_rfc3339;
use crate::output::ndjson;
use crate::query::Filter;
use crate::store::Store;

/// Text for one tab-separated field: tabs and newlines become spaces.
fn tsv_field(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    let clean: Vec<u8> =
        b.iter().map(|&c| if c == b'\t' || c == b'\n' { b' ' } else { c }).collect();
    out.write_all(&clean)
}

/// One record row of `delay` or `time` (serialized directly: these commands can print
/// millions of rows).
#[derive(serde::Serialize)]
struct RecordJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<f64>,
    source: &'a str,
    line: u64,
    text: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_b64: Option<String>,
}

impl<'a> RecordJson<'a> {
    fn new(store: &'a Store, utc: bool, time: i64, source: u32, line: u64, text: &'a [u8]) -> Self {
        let (text, text_b64) = match std::str::from_utf8(text) {
            Ok(s) => (std::borrow::Cow::Borrowed(s), None),
            Err(_) => (String::from_utf8_lossy(text), Some(ndjson::base64(text))),
        };
        RecordJson {
            kind: None,
            index: None,
            time: format_rfc3339(time, utc),
            delay: None,
            diff: None,
            delta: None,
            source: store.source_path(source),
            line,
            text,
            text_b64,
        }
    }
}

pub(super) fn delay_cmd(g: &Global, a: &DelayArgs) -> Result<ExitCode> {
    use crate::analyze::delay::{self, DelayConfig, DelayMode, DelayOrder};
    let cfg = DelayConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        mode: if a.time_pos == 0 { DelayMode::Backward } else { DelayMode::TimePos(a.time_pos) },
        utc: g.utc,
        order: match a.sort {
            DelaySort::Delay => DelayOrder::Delay,
            DelaySort::Time => DelayOrder::Time,
        },
        limit: a.limit,
        text_budget: delay::TEXT_BUDGET,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::delay(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut shown = 0u64;
    delay::delay(&store, &cfg, &mut |r| {
        shown += 1;
        if a.ndjson {
            let mut v = RecordJson::new(&store, g.utc, r.time, r.source, r.line, &r.text);
            v.delay = Some(secs(r.delay));
            ndjson::write_value(&mut out, &v)?;
        } else {
            write!(out, "{}\t{:.3}\t", format_rfc3339(r.time, g.utc), secs(r.delay))?;
            tsv_field(&mut out, &r.text)?;
            writeln!(out)?;
        }
        Ok(Flow::Continue)
    })?;
    out.flush()?;
    Ok(super::exit_code(shown > 0))
}

pub(super) fn heatmap_cmd(g: &Global, a: &HeatmapArgs) -> Result<ExitCode> {
    use crate::analyze::heatmap::{self, Day, HeatmapBy, HeatmapConfig, WEEKDAYS};
    use crate::model::civil_from_days;
    let cfg = HeatmapConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        by: if a.week { HeatmapBy::Weekday } else { HeatmapBy::Date },
        utc: g.utc,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::heatmap(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let (rows, st) = heatmap::heatmap(&store, &cfg)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let label = |d: Day, sep: char| match d {
        Day::Date(n) => {
            let (y, m, d) = civil_from_days(n);
            format!("{y:04}{sep}{m:02}{sep}{d:02}")
        }
        Day::Weekday(w) => WEEKDAYS[usize::from(w) % 7].to_string(),
    };
    for r in &rows {
        if a.ndjson {
            let v = match r.day {
                Day::Date(_) => {
                    json!({"date": label(r.day, '-'), "hour": r.hour, "count": r.count})
                }
                Day::Weekday(_) => {
                    json!({"weekday": label(r.day, '-'), "hour": r.hour, "count": r.count})
                }
            };
            ndjson::write_value(&mut out, &v)?;
        } else {
            writeln!(out, "{}\t{}\t{}", label(r.day, '-'), r.hour, r.count)?;
        }
    }
    out.flush()?;
    Ok(super::exit_code(st.hits > 0))
}

pub(super) fn time_cmd(g: &Global, a: &TimeArgs) -> Result<ExitCode> {
    use crate::analyze::timeview::{self, TimeConfig};
    let cfg = TimeConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        mark: a.mark,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::time(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut rows = 0u64;
    let (summary, _) = timeview::time_rows(&store, &cfg, &mut |r| {
        rows += 1;
        if a.ndjson {
            let mut v = RecordJson::new(&store, g.utc, r.time, r.source, r.line, r.text);
            v.kind = Some("row");
            v.index = Some(r.index);
            v.diff = Some(secs(r.diff));
            v.delta = Some(secs(r.delta));
            ndjson::write_value(&mut out, &v)?;
        } else {
            write!(
                out,
                "{}\t{:.3}\t{:.3}\t",
                format_rfc3339(r.time, g.utc),
                secs(r.diff),
                secs(r.delta)
            )?;
            tsv_field(&mut out, r.text)?;
            writeln!(out)?;
        }
        Ok(Flow::Continue)
    })?;
    if let Some(s) = summary.as_ref().filter(|_| a.ndjson) {
        let mut v = serde_json::to_value(s)?;
        if let serde_json::Value::Object(m) = &mut v {
            let mut o = serde_json::Map::new();
            o.insert("kind".into(), "stats".into());
            o.extend(std::mem::take(m));
            v = serde_json::Value::Object(o);
        }
        ndjson::write_value(&mut out, &v)?;
    }
    out.flush()?;
    Ok(super::exit_code(rows > 0))
}

pub(super) fn relation_cmd(g: &Global, a: &RelationArgs) -> Result<ExitCode> {
    use crate::analyze::relation::{self, RelationConfig, parse_items};
    let (items, filters) = parse_items(&a.words)?;
    if items.len() < 2 {
        bail!(
            "relation needs two or more items (ip, ipv6, mac, email, url, kv, regex/PATTERN/), \
             got {}: {:?}",
            items.len(),
            items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>()
        );
    }
    let names: Vec<String> = items.iter().map(|i| i.name.clone()).collect();
    let cfg = RelationConfig {
        filter: Filter::new(&filter_spec(g, &filters))?,
        range: time_range(g)?,
        items,
    };
    if super::tui::wanted(a.ndjson) {
        return super::tui::relation(g, &filters, names, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let (rel, st) = relation::relation(&store, &cfg)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let lossy = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    if a.ndjson {
        for t in &rel.tuples {
            let mut o = serde_json::Map::new();
            o.insert("kind".into(), "tuple".into());
            o.insert("values".into(), t.values.iter().map(|v| lossy(v)).collect());
            if t.values.iter().any(|v| std::str::from_utf8(v).is_err()) {
                o.insert("values_b64".into(), t.values.iter().map(|v| ndjson::base64(v)).collect());
            }
            o.insert("count".into(), t.count.into());
            ndjson::write_value(&mut out, &o)?;
        }
        for n in &rel.nodes {
            let item = names.get(n.column).map_or("", String::as_str);
            let v = bytes_field("value", &n.value, json!({"count": n.count}));
            let mut o = serde_json::Map::new();
            o.insert("kind".into(), "node".into());
            o.insert("id".into(), n.id.into());
            o.insert("column".into(), n.column.into());
            o.insert("item".into(), item.into());
            if let serde_json::Value::Object(m) = v {
                o.extend(m);
            }
            ndjson::write_value(&mut out, &o)?;
        }
        for e in &rel.edges {
            ndjson::write_value(
                &mut out,
                &json!({"kind": "edge", "source": e.source, "target": e.target, "count": e.count}),
            )?;
        }
    } else {
        for t in &rel.tuples {
            for v in &t.values {
                tsv_field(&mut out, v)?;
                out.write_all(b"\t")?;
            }
            writeln!(out, "{}", t.count)?;
        }
    }
    out.flush()?;
    Ok(super::exit_code(st.hits > 0))
}
