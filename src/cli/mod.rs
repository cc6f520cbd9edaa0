//! The command-line frontend: parses arguments, connects operators to output writers,
//! prints progress and problems, and maps outcomes to exit codes:
//! * `0`: success (search: at least one hit; import: every input imported);
//! * `1`: search found nothing; import skipped something (reported on stderr);
//! * `2`: an error (bad arguments, invalid regex or time range, store failure).
//!
//! A closed pipe (`twsla search | head`) ends quietly with 0.
#![allow(clippy::print_stderr, clippy::print_stdout)]

mod analyzers_b;
mod anomaly;
pub mod args;
mod completion;
pub mod config;
mod import;
mod tfidf;
mod tui;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::analyze::{AnalyzeError, Flow, search};
use crate::output::{human, ndjson};
use crate::query::{Filter, FilterSpec, TimeRange, filter, time};
use crate::store::Store;
use args::{Cli, Command, CountArgs, ExtractArgs, Global, SearchArgs, VerifyArgs};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let parsed =
        Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (mut cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match config::apply(&mut cli, &matches) {
        Ok(unknown) => {
            for k in unknown {
                eprintln!("twsla: warning: config key {k:?} is not used by this version");
            }
        }
        Err(e) => {
            eprintln!("twsla: error: {e:#}");
            return ExitCode::from(2);
        }
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("twsla: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<AnalyzeError>().is_some_and(
                |a| matches!(a, AnalyzeError::Output(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Import(a) => import::import(&cli.global, a),
        Command::Search(a) => search_cmd(&cli.global, a),
        Command::Count(a) => count_cmd(&cli.global, a),
        Command::Extract(a) => extract_cmd(&cli.global, a),
        Command::Tfidf(a) => tfidf::tfidf_cmd(&cli.global, a),
        Command::Anomaly(a) => anomaly::anomaly_cmd(&cli.global, a),
        Command::Delay(a) => analyzers_b::delay_cmd(&cli.global, a),
        Command::Heatmap(a) => analyzers_b::heatmap_cmd(&cli.global, a),
        Command::Time(a) => analyzers_b::time_cmd(&cli.global, a),
        Command::Relation(a) => analyzers_b::relation_cmd(&cli.global, a),
        Command::Verify(a) => verify(&cli.global, a),
        Command::Completion(a) => completion::completion(a),
        Command::Version => {
            println!("twsla {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn time_range(g: &Global) -> Result<TimeRange> {
    Ok(time::parse_time_range(&g.time_range, crate::model::now_nanos(), g.utc)?)
}

fn filter_spec(g: &Global, args: &[String]) -> FilterSpec {
    FilterSpec {
        simple: g.filter.clone(),
        regex: g.regex.clone(),
        not: g.not.clone(),
        args: args.to_vec(),
    }
}

fn regex_arg(flag: &str, pat: &str) -> Result<regex_automata::meta::Regex> {
    filter::compile_regex(pat).map_err(|e| anyhow::anyhow!("invalid {flag} {pat:?}: {e}"))
}

fn search_cmd(g: &Global, a: &SearchArgs) -> Result<ExitCode> {
    let range = time_range(g)?;
    if tui::wanted(a.ndjson) {
        return tui::search(g, a, range);
    }
    let cfg = search::SearchConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range,
        limit: a.limit,
        reverse: a.reverse,
    };
    let store = Store::open(&g.datastore)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let utc = g.utc;
    let stats = if a.ndjson {
        search::search(&store, &cfg, &mut |row| {
            ndjson::write_search_row(&mut out, &row, utc)?;
            Ok(Flow::Continue)
        })?
    } else {
        search::search(&store, &cfg, &mut |row| {
            out.write_all(row.text)?;
            out.write_all(b"\n")?;
            Ok(Flow::Continue)
        })?
    };
    out.flush()?;
    Ok(exit_code(stats.hits > 0))
}

fn extractor(mode: &str, k: &args::KeyArgs) -> Result<crate::analyze::keys::Extractor> {
    let grok = crate::analyze::keys::GrokOptions {
        pattern: k.grok_pat.clone(),
        definitions: k.grok.clone(),
    };
    Ok(crate::analyze::keys::Extractor::with_grok(mode, k.pos, &k.name, &grok)?)
}

fn ip_info(
    mode: Option<crate::analyze::ipinfo::IpMode>,
    geoip: Option<&std::path::Path>,
) -> Result<Option<std::sync::Arc<crate::analyze::ipinfo::IpInfo>>> {
    Ok(match mode {
        Some(m) => Some(std::sync::Arc::new(crate::analyze::ipinfo::IpInfo::new(m, geoip)?)),
        None => None,
    })
}

/// A JSON object `{name: text, name_b64: base64 (only if not UTF-8), ...rest}`.
fn bytes_field(name: &str, v: &[u8], rest: serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    match std::str::from_utf8(v) {
        Ok(s) => {
            m.insert(name.into(), s.into());
        }
        Err(_) => {
            m.insert(name.into(), String::from_utf8_lossy(v).into_owned().into());
            m.insert(format!("{name}_b64"), ndjson::base64(v).into());
        }
    }
    if let serde_json::Value::Object(r) = rest {
        m.extend(r);
    }
    serde_json::Value::Object(m)
}

/// Seconds from the command line as nanoseconds; at most 100 years.
/// Exit code of a command: 0 when it found something, 1 when not (2 is for errors).
fn exit_code(found: bool) -> ExitCode {
    if found { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn secs_arg(flag: &str, s: u64) -> Result<i64> {
    const MAX: u64 = 100 * 366 * 86_400;
    if s > MAX {
        bail!("{flag} {s}: too large (at most {MAX} seconds, 100 years)");
    }
    Ok(s as i64 * 1_000_000_000)
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

fn count_cmd(g: &Global, a: &CountArgs) -> Result<ExitCode> {
    if a.time_pos.is_some() && a.delay == 0 {
        bail!("-q/--timePos compares timestamps for --delay: give --delay SECONDS too");
    }
    use crate::analyze::count::{self, CountBy, CountConfig, CountRows};
    let by = match a.extract.as_deref() {
        None | Some("") => {
            CountBy::Time(if a.interval > 0 { Some(secs_arg("-i", a.interval)?) } else { None })
        }
        Some(mode) => CountBy::Key(extractor(mode, &a.key)?),
    };
    let cfg = CountConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        by,
        delay: if a.delay > 0 { Some(secs_arg("--delay", a.delay)?) } else { None },
        time_pos: a.time_pos,
        utc: g.utc,
        ip: ip_info(a.key.ip, a.key.geoip.as_deref())?,
    };
    if tui::wanted(a.ndjson) {
        return tui::count(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let (rows, st) = count::count(&store, &cfg)?;
    let mut out = BufWriter::new(io::stdout().lock());
    match &rows {
        CountRows::Time(rows) => {
            for r in rows {
                let t = crate::model::format_rfc3339(r.time, g.utc);
                if a.ndjson {
                    ndjson::write_value(
                        &mut out,
                        &serde_json::json!({"time": t, "count": r.count, "delta": secs(r.delta)}),
                    )?;
                } else {
                    writeln!(out, "{t}\t{}\t{}", r.count, secs(r.delta))?;
                }
            }
        }
        CountRows::Key(rows) => {
            for r in rows {
                if a.ndjson {
                    ndjson::write_value(
                        &mut out,
                        &bytes_field("key", &r.key, serde_json::json!({"count": r.count})),
                    )?;
                } else {
                    let key: Vec<u8> = r
                        .key
                        .iter()
                        .map(|&b| if b == b'\t' || b == b'\n' { b' ' } else { b })
                        .collect();
                    out.write_all(&key)?;
                    writeln!(out, "\t{}", r.count)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(exit_code(st.hits > 0))
}

fn extract_cmd(g: &Global, a: &ExtractArgs) -> Result<ExitCode> {
    use crate::analyze::extract::{self, ExtractConfig};
    let cfg = ExtractConfig {
        filter: Filter::new(&filter_spec(g, &a.filters))?,
        range: time_range(g)?,
        extractor: extractor(&a.extract, &a.key)?,
        ip: ip_info(a.key.ip, a.key.geoip.as_deref())?,
    };
    if tui::wanted(a.ndjson) {
        return tui::extract(g, a, cfg);
    }
    let store = Store::open(&g.datastore)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut kept = Vec::new();
    let st = extract::extract(&store, &cfg, &mut |r| {
        if a.stats {
            kept.push(r.clone());
        } else if a.ndjson {
            ndjson::write_value(
                &mut out,
                &bytes_field("value", &r.value, serde_json::json!({"delta": r.delta, "ps": r.ps}))
                    .as_object()
                    .map(|m| {
                        let mut o = serde_json::Map::new();
                        o.insert("time".into(), crate::model::format_rfc3339(r.time, g.utc).into());
                        o.extend(m.clone());
                        serde_json::Value::Object(o)
                    })
                    .unwrap_or_default(),
            )?;
        } else {
            write!(out, "{}\t", crate::model::format_rfc3339(r.time, g.utc))?;
            out.write_all(&r.value)?;
            writeln!(out, "\t{}\t{}", r.delta, r.ps)?;
        }
        Ok(Flow::Continue)
    })?;
    if a.stats
        && let Some(s) = extract::stats_of(&kept)
    {
        let rows = [
            ("Min", s.value.min, s.delta.min, s.ps.min),
            ("Max", s.value.max, s.delta.max, s.ps.max),
            ("Mean", s.value.mean, s.delta.mean, s.ps.mean),
            ("Median", s.value.median, s.delta.median, s.ps.median),
            ("Mode", s.value.mode, s.delta.mode, s.ps.mode),
            ("Variance", s.value.variance, s.delta.variance, s.ps.variance),
        ];
        for (stat, v, d, p) in rows {
            if a.ndjson {
                ndjson::write_value(
                    &mut out,
                    &serde_json::json!({"stat": stat, "value": v, "delta": d, "ps": p}),
                )?;
            } else {
                writeln!(out, "{stat}\t{v}\t{d}\t{p}")?;
            }
        }
    }
    out.flush()?;
    Ok(exit_code(st.hits > 0))
}

fn verify(g: &Global, a: &VerifyArgs) -> Result<ExitCode> {
    let store = Store::open(&g.datastore)?;
    let mut out = io::stdout().lock();
    let mut bad = 0;
    let m = store.manifest();
    for (name, res) in store.verify() {
        match res {
            Ok(v) => {
                if a.ndjson {
                    ndjson::write_value(
                        &mut out,
                        &serde_json::json!({"segment": name, "ok": true, "stats": v}),
                    )?;
                } else {
                    writeln!(
                        out,
                        "{name} ok rows={} blocks={} tokens={} text={} file={} time={}..{}",
                        v.rows,
                        v.blocks,
                        v.tokens,
                        human::bytes(v.text_bytes),
                        human::bytes(v.file_bytes),
                        crate::model::format_rfc3339(v.min_ts, g.utc),
                        crate::model::format_rfc3339(v.max_ts, g.utc)
                    )?;
                }
            }
            Err(e) => {
                bad += 1;
                if a.ndjson {
                    ndjson::write_value(
                        &mut out,
                        &serde_json::json!({"segment": name, "ok": false, "error": e.to_string()}),
                    )?;
                } else {
                    writeln!(out, "{name} CORRUPT: {e}")?;
                }
            }
        }
    }
    if !a.ndjson {
        writeln!(
            out,
            "segments={} rows={} sources={} generation={}: {}",
            m.segments.len(),
            human::comma(m.rows()),
            m.sources.len(),
            m.generation,
            if bad == 0 { "OK" } else { "CORRUPT" }
        )?;
    }
    out.flush()?;
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
