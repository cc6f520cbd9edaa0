//! `s`: saving what a view shows (spec §7), by the file name's extension.
//!
//! * search: the raw lines, one per line, in the displayed order, whatever the extension;
//! * count and extract: `.tsv` writes tab-separated columns (tabs and newlines inside a cell
//!   become spaces, so a log line cannot break the format); anything else writes CSV with
//!   RFC 4180 quoting. Columns are upstream's: count `name,Count,Delta,Delta(sec)` (time mode)
//!   or `name,Count`; extract `Time,name,Delta,PS` (Delta and PS with 3 decimals); the stats
//!   view `Stats,name,Delta,PS` with the shown strings.
//! * count and extract with `.png`, `.html` or `.htm`: the view's chart (see `tui::chart`):
//!   a PNG drawn with plotters, or a self-contained interactive HTML page; a chart view saves
//!   only those.
//!
//! Errors are returned as messages; the UI shows them and keeps its results.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::app::View;
use super::chart;
use super::table::Tabular;

/// Quotes a CSV cell when needed (RFC 4180).
pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn tsv_cell(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn write_table(
    w: &mut dyn Write,
    tsv: bool,
    header: &[String],
    rows: &mut dyn Iterator<Item = Vec<String>>,
) -> std::io::Result<usize> {
    let line = |cells: &[String]| -> String {
        if tsv {
            cells.iter().map(|c| tsv_cell(c)).collect::<Vec<_>>().join("\t")
        } else {
            cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",")
        }
    };
    writeln!(w, "{}", line(header))?;
    let mut n = 0;
    for r in rows {
        writeln!(w, "{}", line(&r))?;
        n += 1;
    }
    Ok(n)
}

fn write_tabular(
    w: &mut dyn Write,
    tsv: bool,
    t: &dyn Tabular,
    utc: bool,
) -> std::io::Result<usize> {
    let mut rows = (0..t.len()).map(|i| t.file_cells(i, utc));
    write_table(w, tsv, &t.file_header(), &mut rows)
}

/// Saves `view` to `path`; returns the message to show.
pub fn save(view: &View, path: &str, utc: bool) -> Result<String, String> {
    let ext = std::path::Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if matches!(view, View::Detail(_)) {
        return Err("nothing to save in the detail view".into());
    }
    let chart_file = matches!(ext.as_str(), "png" | "html" | "htm");
    match view {
        View::Chart(c) => return chart::save(&c.spec, path),
        View::Count(v) if chart_file => return chart::save(&chart::of_count(v, utc).spec, path),
        View::Extract(v) if chart_file => {
            return chart::save(&chart::of_extract(v, utc).spec, path);
        }
        View::Analysis(v) if chart_file => {
            return match v.chart(utc) {
                Some(c) => chart::save(&c.spec, path),
                None => {
                    Err(format!("cannot save {path}: this view has no chart (save .tsv or .csv)"))
                }
            };
        }
        View::Heatmap(v) if chart_file => return chart::save(&v.chart().spec, path),
        _ => {}
    }
    let tsv = ext == "tsv";
    let file = File::create(path).map_err(|e| format!("cannot save {path}: {e}"))?;
    let mut w = BufWriter::new(file);
    let written: std::io::Result<usize> = (|| match view {
        View::Search(v) => {
            let mut n = 0;
            for l in v.ordered() {
                w.write_all(l.text.as_bytes())?;
                w.write_all(b"\n")?;
                n += 1;
            }
            Ok(n)
        }
        View::Count(v) => write_tabular(&mut w, tsv, v.as_ref(), utc),
        View::Extract(v) => write_tabular(&mut w, tsv, v.as_ref(), utc),
        View::Analysis(v) => write_tabular(&mut w, tsv, v.as_ref(), utc),
        View::Heatmap(v) => write_tabular(&mut w, tsv, v.as_ref(), utc),
        View::Detail(_) | View::Chart(_) => Ok(0),
    })();
    let n = written
        .and_then(|n| w.flush().map(|()| n))
        .map_err(|e| format!("cannot save {path}: {e}"))?;
    Ok(format!("saved {n} rows to {path}"))
}
