//! The configuration file (`--config`, default `~/.twsla.yaml`) and its precedence:
//! command line > `TWSLA_*` environment variables > file > built-in default (upstream let the
//! file and the environment override the command line; that is fixed here).
//!
//! The file is flat YAML: `key: value` lines, `#` comments, optional quotes. Keys are
//! case-insensitive. Keys used so far: `datastore`, `timeRange`, `filter`, `regex`, `not`,
//! `utc`, `extract`, `name`, `interval`, `pos`, `grokPat`, `grok`, `geoip`, `ip`. Unknown keys are reported once (they may
//! belong to commands of a later version), and a malformed line is an error naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;

use super::args::{Cli, Command};

/// Keys a config file may set.
#[rustfmt::skip]
const KNOWN: &[&str] = &[
    "datastore", "timerange", "filter", "regex", "not", "utc", "extract", "name", "interval", "pos",
    "grokpat", "grok", "geoip", "ip", "sixel",
    // Upstream keys of commands this version does not have yet: accepted, unused.
    "color", "rules", "sigmaconfig", "twsnmp", "jsonout", "checkcert",
];

/// Parses flat YAML into lower-cased keys and unquoted values.
pub fn parse(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim_end();
        if line.trim().is_empty() || line.trim() == "---" {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            bail!("{}:{}: expected `key: value`, found {:?}", path.display(), n + 1, raw.trim());
        };
        if k.starts_with([' ', '\t']) {
            bail!("{}:{}: nested keys are not supported", path.display(), n + 1);
        }
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            &v[1..v.len() - 1]
        } else {
            v
        };
        map.insert(k.trim().to_ascii_lowercase(), v.to_string());
    }
    Ok(map)
}

fn strip_comment(line: &str) -> &str {
    // A # starts a comment at the line start or after a blank, outside quotes.
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev == ' ' || prev == '\t' || i == 0 => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The config file to read: `--config`, else `~/.twsla.yaml` if it exists.
fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".twsla.yaml");
    p.is_file().then_some(p)
}

fn from_file(m: &ArgMatches, id: &str) -> bool {
    matches!(m.value_source(id), None | Some(ValueSource::DefaultValue))
}

/// Fills every option the user did not give (on the command line or in the environment)
/// from the config file. Returns the keys that were unknown.
pub fn apply(cli: &mut Cli, matches: &ArgMatches) -> Result<Vec<String>> {
    let Some(path) = config_path(cli.global.config.as_deref()) else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let map = parse(&text, &path)?;
    let unknown: Vec<String> =
        map.keys().filter(|k| !KNOWN.contains(&k.as_str())).cloned().collect();
    let get = |k: &str| map.get(k).filter(|v| !v.is_empty()).cloned();
    let g = &mut cli.global;
    if from_file(matches, "datastore")
        && let Some(v) = get("datastore")
    {
        g.datastore = PathBuf::from(v);
    }
    if from_file(matches, "time_range")
        && let Some(v) = get("timerange")
    {
        g.time_range = v;
    }
    if from_file(matches, "filter")
        && let Some(v) = get("filter")
    {
        g.filter = Some(v);
    }
    if from_file(matches, "regex")
        && let Some(v) = get("regex")
    {
        g.regex = Some(v);
    }
    if from_file(matches, "not")
        && let Some(v) = get("not")
    {
        g.not = Some(v);
    }
    if from_file(matches, "utc")
        && let Some(v) = get("utc")
    {
        g.utc = parse_bool(&v, "utc", &path)?;
    }
    if from_file(matches, "sixel")
        && let Some(v) = get("sixel")
    {
        g.sixel = parse_bool(&v, "sixel", &path)?;
    }
    let sub = matches.subcommand().map(|(_, m)| m);
    let sub_default = |id: &str| sub.is_none_or(|m| from_file(m, id));
    match &mut cli.command {
        Command::Count(a) => {
            if sub_default("extract")
                && let Some(v) = get("extract")
            {
                a.extract = Some(v);
            }
            if sub_default("name")
                && let Some(v) = get("name")
            {
                a.key.name = v;
            }
            if sub_default("interval")
                && let Some(v) = get("interval")
            {
                a.interval = v.parse().with_context(|| {
                    format!("{}: interval: not a number: {v:?}", path.display())
                })?;
            }
            if sub_default("pos")
                && let Some(v) = get("pos")
            {
                a.key.pos = v
                    .parse()
                    .with_context(|| format!("{}: pos: not a number: {v:?}", path.display()))?;
            }
        }
        Command::Extract(a) => {
            if sub_default("name")
                && let Some(v) = get("name")
            {
                a.key.name = v;
            }
            if sub_default("pos")
                && let Some(v) = get("pos")
            {
                a.key.pos = v
                    .parse()
                    .with_context(|| format!("{}: pos: not a number: {v:?}", path.display()))?;
            }
        }
        _ => {}
    }
    // Grok and IP information, shared by count and extract.
    let (grok_pat, grok, geoip, ip) = match &mut cli.command {
        Command::Count(a) => {
            (&mut a.key.grok_pat, &mut a.key.grok, &mut a.key.geoip, &mut a.key.ip)
        }
        Command::Extract(a) => {
            (&mut a.key.grok_pat, &mut a.key.grok, &mut a.key.geoip, &mut a.key.ip)
        }
        _ => return Ok(unknown),
    };
    if sub_default("grok_pat")
        && let Some(v) = get("grokpat")
    {
        *grok_pat = v;
    }
    if sub_default("grok")
        && let Some(v) = get("grok")
    {
        *grok = Some(PathBuf::from(v));
    }
    if sub_default("geoip")
        && let Some(v) = get("geoip")
    {
        *geoip = Some(PathBuf::from(v));
    }
    if sub_default("ip")
        && let Some(v) = get("ip")
    {
        use clap::ValueEnum;
        *ip = Some(
            crate::analyze::ipinfo::IpMode::from_str(&v, true)
                .map_err(|e| anyhow::anyhow!("{}: ip: {e}", path.display()))?,
        );
    }
    Ok(unknown)
}

fn parse_bool(v: &str, key: &str, path: &Path) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => bail!("{}: {key}: expected true or false, found {v:?}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_yaml() {
        let m = parse(
            "# c\ntimeRange: \"2024/1/1,1d\"\nfilter: 'a # b' # note\nDataStore: /x y\n\nregex:\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        assert_eq!(m["timerange"], "2024/1/1,1d");
        assert_eq!(m["filter"], "a # b");
        assert_eq!(m["datastore"], "/x y");
        assert_eq!(m["regex"], "");
        assert!(
            parse("just text\n", Path::new("c.yaml")).unwrap_err().to_string().contains("c.yaml:1")
        );
        assert!(parse("a:\n  b: 1\n", Path::new("c.yaml")).is_err());
    }
}
