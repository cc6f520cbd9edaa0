//! Extraction of keys and values from records (`-e` of count and extract, spec §1.5, §6.2).
//!
//! Modes: a named pattern (`ip`, `mac`, `email`, `number`, `ipv6`, `uuid`, ...), a regex with
//! `%{name}` placeholders or a raw regex (capture group 1 of the `pos`-th match), `json` with a
//! JSONPath, `normalize` (log template), `word`, `field`, `csv`, `tsv`.

use std::borrow::Cow;

use regex_automata::meta::Regex;

use crate::ingest::timestamp::{TimestampParser, TsOptions};
use crate::query::filter::{compile_regex, keyword_regex};

/// How keys are taken from a record.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// Group 1 of the `pos`-th match (1-based) of a regex.
    Pattern {
        /// The regex (must have a capture group).
        re: Regex,
        /// Which match.
        pos: usize,
        /// Group 1 is the whole match (named modes): plain `find` suffices, which is much
        /// faster than resolving captures.
        whole: bool,
    },
    /// The text from the first `{` parsed as JSON, then a JSONPath.
    Json(Box<serde_json_path::JsonPath>),
    /// The record as a template: timestamp, UUIDs, e-mails, IPs, MACs, numbers replaced.
    Normalize(Box<Normalizer>),
    /// Every lower-cased word (2..=50 bytes after trimming punctuation).
    Word,
    /// Whitespace-separated field `pos` (0-based, as upstream).
    Field(usize),
    /// Comma-separated field `pos` (0-based), trimmed.
    Csv(usize),
    /// Tab-separated field `pos` (0-based), trimmed.
    Tsv(usize),
    /// A capture of a grok pattern.
    Grok {
        /// The compiled pattern.
        pattern: std::sync::Arc<grok::Pattern>,
        /// The capture to take.
        name: String,
    },
}

/// Grok settings (`-x`, `-g`).
#[derive(Debug, Clone, Default)]
pub struct GrokOptions {
    /// The pattern (`-x`); a bare name such as `IP` means `%{IP}`.
    pub pattern: String,
    /// Extra definitions (`-g FILE`: lines `NAME definition`); `full` or empty: built-ins only.
    pub definitions: Option<std::path::PathBuf>,
}

/// An `-e` value that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid {what} {given:?}: {reason}")]
pub struct ExtractorError {
    /// Which option.
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// Why.
    pub reason: String,
}

const NAMED: &[(&str, &str)] = &[
    ("ip", "#IP"),
    ("ipv6", "#IPV6"),
    ("mac", "#MAC"),
    ("email", "#EMAIL"),
    ("creditcard", "#CREDITCARD"),
    ("mynumber", "#MYNUMBER"),
    ("phone_jp", "#PHONE_JP"),
    ("phone_us", "#PHONE_US"),
    ("phone_intl", "#PHONE_INTL"),
    ("zip_jp", "#ZIP_JP"),
    ("uuid", "#UUID"),
];

const NUMBER: &str = r"([-+0-9.]+)";

fn named_regex(name: &str) -> Option<String> {
    if name == "num" || name == "number" {
        return Some(NUMBER.to_string());
    }
    let kw = NAMED.iter().find(|(n, _)| *n == name)?.1;
    keyword_regex(kw).map(|r| format!("({r})"))
}

/// Replaces `%{name}` placeholders (`%{word}` → `(\S+)`, `%{ip}`, `%{number}`, ...).
pub fn expand_placeholders(pat: &str) -> String {
    let mut out = pat.replace("%{word}", r"(\S+)");
    for name in [
        "number",
        "ip",
        "ipv6",
        "mac",
        "email",
        "creditcard",
        "mynumber",
        "phone_jp",
        "phone_us",
        "phone_intl",
        "zip_jp",
        "uuid",
    ] {
        let ph = format!("%{{{name}}}");
        if out.contains(&ph)
            && let Some(r) = named_regex(name)
        {
            out = out.replace(&ph, &r);
        }
    }
    out
}

impl Extractor {
    /// Builds the extractor for `-e mode` with `-p pos` and `-n name` (the JSONPath).
    pub fn new(mode: &str, pos: usize, name: &str) -> Result<Extractor, ExtractorError> {
        Self::with_grok(mode, pos, name, &GrokOptions::default())
    }

    /// Like [`Extractor::new`], with grok settings for `-e grok`.
    pub fn with_grok(
        mode: &str,
        pos: usize,
        name: &str,
        grok: &GrokOptions,
    ) -> Result<Extractor, ExtractorError> {
        let err = |what, reason: String| ExtractorError { what, given: mode.to_string(), reason };
        Ok(match mode {
            "grok" => {
                let gerr = |what, given: &str, reason: String| ExtractorError {
                    what,
                    given: given.to_string(),
                    reason,
                };
                if grok.pattern.is_empty() {
                    return Err(gerr(
                        "grok pattern (-x)",
                        "",
                        "-e grok needs a pattern: -x '%{COMBINEDAPACHELOG}' or -x IP".into(),
                    ));
                }
                let mut g = grok::Grok::with_default_patterns();
                if let Some(path) = grok.definitions.as_ref().filter(|p| p.as_os_str() != "full") {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        gerr("grok definitions (-g)", &path.display().to_string(), e.to_string())
                    })?;
                    for line in text.lines() {
                        if let Some((n, d)) = line.trim().split_once(' ') {
                            g.add_pattern(n.trim(), d.trim());
                        }
                    }
                }
                let (pat, default_name) = if grok.pattern.contains("%{") {
                    (grok.pattern.clone(), String::new())
                } else {
                    (format!("%{{{}}}", grok.pattern), grok.pattern.clone())
                };
                let name = if name.is_empty() { default_name } else { name.to_string() };
                if name.is_empty() {
                    return Err(gerr(
                        "grok capture (-n)",
                        "",
                        "name the capture to take, e.g. -n clientip".into(),
                    ));
                }
                let pattern = g
                    .compile(&pat, false)
                    .map_err(|e| gerr("grok pattern (-x)", &grok.pattern, e.to_string()))?;
                Extractor::Grok { pattern: std::sync::Arc::new(pattern), name }
            }
            "json" => {
                // Upstream: -n defaults to "Value".
                let name = if name.is_empty() { "Value" } else { name };
                let path =
                    if name.starts_with('$') { name.to_string() } else { format!("$.{name}") };
                let p = serde_json_path::JsonPath::parse(&path).map_err(|e| ExtractorError {
                    what: "JSONPath (-n)",
                    given: name.to_string(),
                    reason: e.to_string(),
                })?;
                Extractor::Json(Box::new(p))
            }
            "normalize" => Extractor::Normalize(Box::default()),
            "word" => Extractor::Word,
            "field" => Extractor::Field(pos),
            "csv" => Extractor::Csv(pos),
            "tsv" => Extractor::Tsv(pos),
            _ => {
                let whole = named_regex(mode).is_some();
                let pat = named_regex(mode).unwrap_or_else(|| expand_placeholders(mode));
                let re = compile_regex(&pat).map_err(|r| err("extract pattern (-e)", r))?;
                if re.group_info().group_len(regex_automata::PatternID::ZERO) < 2 {
                    return Err(err(
                        "extract pattern (-e)",
                        "it needs a capture group, e.g. 'user=(\\w+)'".into(),
                    ));
                }
                Extractor::Pattern { re, pos: pos.max(1), whole }
            }
        })
    }

    /// Calls `f` with each key of `text` (most modes give at most one).
    pub fn keys(&self, text: &[u8], mut f: impl FnMut(Cow<'_, [u8]>)) {
        match self {
            Extractor::Pattern { re, pos, whole: true } => {
                if let Some(m) = re.find_iter(text).nth(*pos - 1) {
                    f(Cow::Borrowed(&text[m.range()]));
                }
            }
            Extractor::Pattern { re, pos, whole: false } => {
                let mut caps = re.create_captures();
                let mut at = 0usize;
                let mut n = 0usize;
                while at <= text.len() {
                    re.search_captures(&regex_automata::Input::new(text).range(at..), &mut caps);
                    let Some(m) = caps.get_match() else { return };
                    n += 1;
                    if n == *pos {
                        if let Some(g) = caps.get_group(1) {
                            f(Cow::Borrowed(&text[g.range()]));
                        }
                        return;
                    }
                    at = if m.end() > m.start() { m.end() } else { m.end() + 1 };
                }
            }
            Extractor::Json(path) => {
                let Some(start) = memchr::memchr(b'{', text) else { return };
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text[start..]) else {
                    return;
                };
                if let Ok(node) = path.query(&v).exactly_one() {
                    f(Cow::Owned(go_format(node).into_bytes()));
                } else if let Some(first) = path.query(&v).first() {
                    f(Cow::Owned(go_format(first).into_bytes()));
                }
            }
            Extractor::Normalize(n) => f(Cow::Owned(n.normalize(text))),
            Extractor::Word => {
                // Like Go's strings.ToLower + strings.Fields: Unicode case and spaces for
                // UTF-8 text, ASCII rules for anything else.
                match std::str::from_utf8(text) {
                    Ok(s) => {
                        let lower = s.to_lowercase();
                        for w in lower.split_whitespace().filter(|w| (2..=50).contains(&w.len())) {
                            let t = trim_punct(w.as_bytes());
                            if t.len() >= 2 {
                                f(Cow::Owned(t.to_vec()));
                            }
                        }
                    }
                    Err(_) => {
                        let lower = text.to_ascii_lowercase();
                        for w in lower
                            .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
                            .filter(|w| (2..=50).contains(&w.len()))
                        {
                            let t = trim_punct(w);
                            if t.len() >= 2 {
                                f(Cow::Owned(t.to_vec()));
                            }
                        }
                    }
                }
            }
            Extractor::Field(p) => match std::str::from_utf8(text) {
                Ok(s) => {
                    if let Some(w) = s.split_whitespace().nth(*p) {
                        f(Cow::Borrowed(w.as_bytes()));
                    }
                }
                Err(_) => {
                    if let Some(w) = text
                        .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
                        .filter(|w| !w.is_empty())
                        .nth(*p)
                    {
                        f(Cow::Borrowed(w));
                    }
                }
            },
            Extractor::Grok { pattern, name } => {
                let s = String::from_utf8_lossy(text);
                if let Some(m) = pattern.match_against(&s)
                    && let Some(v) = m.get(name)
                {
                    f(Cow::Owned(v.as_bytes().to_vec()));
                }
            }
            Extractor::Csv(p) | Extractor::Tsv(p) => {
                let sep = if matches!(self, Extractor::Csv(_)) { b',' } else { b'\t' };
                if let Some(w) = text.split(|b| *b == sep).nth(*p) {
                    f(Cow::Borrowed(w.trim_ascii()));
                }
            }
        }
    }
}

fn trim_punct(w: &[u8]) -> &[u8] {
    const P: &[u8] = b".,!?;:()[]{}\"'";
    let mut a = 0;
    let mut z = w.len();
    while a < z && P.contains(&w[a]) {
        a += 1;
    }
    while z > a && P.contains(&w[z - 1]) {
        z -= 1;
    }
    &w[a..z]
}

/// Formats a JSON value like Go's `%v` of the decoded value (upstream's key format).
pub fn go_format(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            go_float(f)
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_format).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut kv: Vec<(&String, &Value)> = o.iter().collect();
            kv.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "map[{}]",
                kv.iter()
                    .map(|(k, v)| format!("{k}:{}", go_format(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

/// Go's `%v` for float64: the shortest representation, in exponent form when the decimal
/// exponent is below -4 or at least 6 (`1e+06`, `1.234567e+06`, `1e-05`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        format!("{f}")
    }
}

/// The `normalize` mode: a record turned into its template.
#[derive(Debug, Clone)]
pub struct Normalizer {
    subs: Vec<(Regex, &'static str)>,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    /// The upstream replacement list, in order.
    pub fn new() -> Normalizer {
        let table: [(&str, &str); 5] = [
            (r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", "#UUID#"),
            (r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b", "#EMAIL#"),
            (r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b", "#IP#"),
            (r"\b(?:[0-9a-fA-F]{2}[:-]){5}(?:[0-9a-fA-F]{2})\b", "#MAC#"),
            (r"\b-?\d+(\.\d+)?\b", "#NUM#"),
        ];
        let subs =
            table.iter().filter_map(|(p, r)| compile_regex(p).ok().map(|re| (re, *r))).collect();
        Normalizer { subs }
    }

    /// The template of `text`: the leftmost timestamp becomes `#TIMESTAMP#`, then UUIDs,
    /// e-mails, IPv4 and MAC addresses and numbers are replaced (in that order).
    pub fn normalize(&self, text: &[u8]) -> Vec<u8> {
        let mut p = TimestampParser::new(TsOptions { utc: true, reference_ns: Some(0) });
        let mut cur: Vec<u8> = match p.parse(text) {
            Some(ts) => [&text[..ts.start], b"#TIMESTAMP#", &text[ts.end..]].concat(),
            None => text.to_vec(),
        };
        for (re, rep) in &self.subs {
            let mut out = Vec::with_capacity(cur.len());
            let mut last = 0;
            for m in re.find_iter(&cur) {
                out.extend_from_slice(&cur[last..m.start()]);
                out.extend_from_slice(rep.as_bytes());
                last = m.end();
            }
            if last == 0 {
                continue;
            }
            out.extend_from_slice(&cur[last..]);
            cur = out;
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(e: &Extractor, s: &str) -> Option<String> {
        let mut v = None;
        e.keys(s.as_bytes(), |k| {
            if v.is_none() {
                v = Some(String::from_utf8_lossy(&k).into_owned());
            }
        });
        v
    }

    #[test]
    fn upstream_vectors() {
        let x = |m: &str, p: usize| Extractor::new(m, p, "").unwrap();
        assert_eq!(one(&x("ip", 1), "Connection from 192.168.1.1"), Some("192.168.1.1".into()));
        assert_eq!(
            one(&x("email", 1), "Email to test@example.com"),
            Some("test@example.com".into())
        );
        assert_eq!(one(&x("number", 1), "Value is 123.45"), Some("123.45".into()));
        assert_eq!(one(&x("number", 2), "Values are 123.45 and 67.89"), Some("67.89".into()));
        assert_eq!(one(&x("%{word} is 100", 1), "Price is 100"), Some("Price".into()));
        assert_eq!(one(&x("number", 3), "1 2"), None);
        assert!(Extractor::new("IP", 1, "").is_err(), "upper case is a regex without a group");
        assert!(Extractor::new("a(", 1, "").is_err());
    }

    #[test]
    fn normalize_vectors() {
        let n = Normalizer::new();
        let f = |s: &str| String::from_utf8(n.normalize(s.as_bytes())).unwrap();
        assert_eq!(
            f("May  4 10:30:00 host connection from 192.168.1.1"),
            "#TIMESTAMP# host connection from #IP#"
        );
        assert_eq!(
            f("2026-05-04T10:30:00Z error in session 550e8400-e29b-41d4-a716-446655440000"),
            "#TIMESTAMP# error in session #UUID#"
        );
        assert_eq!(f("Email to test@example.com for user 123"), "Email to #EMAIL# for user #NUM#");
        assert_eq!(f("MAC address is 00:11:22:33:44:55"), "MAC address is #MAC#");
    }

    #[test]
    fn json_and_fields() {
        let j = Extractor::new("json", 1, "a.b").unwrap();
        assert_eq!(one(&j, r#"x {"a":{"b":3}}"#), Some("3".into()));
        assert_eq!(
            one(&Extractor::new("json", 1, "Score").unwrap(), r#"{"Score":1.5}"#),
            Some("1.5".into())
        );
        assert_eq!(
            one(&Extractor::new("json", 1, "$.n").unwrap(), r#"{"n":1000000}"#),
            Some("1e+06".into())
        );
        assert_eq!(
            one(&Extractor::new("json", 1, "$.m").unwrap(), r#"{"m":{"k":"v"}}"#),
            Some("map[k:v]".into())
        );
        assert_eq!(one(&j, "not json"), None);
        assert_eq!(one(&Extractor::Field(1), "Jun 14 15:16:01 x"), Some("14".into()));
        assert_eq!(one(&Extractor::Csv(1), "a, b ,c"), Some("b".into()));
        assert_eq!(one(&Extractor::Tsv(2), "a\tb\t c"), Some("c".into()));
        let mut words = Vec::new();
        Extractor::Word.keys(b"Hello, (World) a x!! ok.", |k| {
            words.push(String::from_utf8(k.to_vec()).unwrap())
        });
        assert_eq!(words, ["hello", "world", "ok"]);
    }

    #[test]
    fn go_floats() {
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(-0.5), "-0.5");
        assert_eq!(go_float(0.00001), "1e-05");
    }
}
