//! Line filters, byte-compatible with upstream twsla (spec §1.3):
//!
//! * include: the `-r` regex, the `-f` simple filter, every positional simple filter not
//!   starting with `^`;
//! * exclude: every positional simple filter starting with `^` (caret removed), the `-v` regex;
//! * a record matches when all includes match and no exclude does. Case-sensitive; `\d`, `\w`
//!   and `\b` are ASCII as in Go's RE2.
//!
//! A *simple filter* is literal text where `*` matches any run and `?` any one character; a
//! trailing `$` anchors at the end; the whole text may instead be a keyword such as `#IP`.
//! Unlike upstream, an invalid regex is an error (upstream crashed), and `abc\$` keeps its
//! backslash.

use regex_automata::meta::Regex;
use regex_automata::util::syntax;

/// Keywords usable as a whole simple filter, with their regexes (Go RE2 syntax, ASCII).
pub const KEYWORDS: &[(&str, &str)] = &[
    ("#IP", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
    (
        "#IPV6",
        r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(:{1,2}[0-9a-fA-F]{1,4}){1,7}|[0-9a-fA-F]{1,4}:(:{1,2}[0-9a-fA-F]{1,4}){1,7}",
    ),
    (
        "#LOCAL_IP",
        r"\b(10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(1[6-9]|2\d|3[0-1])\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|127\.0\.0\.1)\b",
    ),
    ("#EMAIL", r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9_.+-]+"),
    ("#URL", r"https?://[\w!?/+\-_~;.,*&@#$%()'\[\]]+"),
    (
        "#MAC",
        r"[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}",
    ),
    (
        "#CREDITCARD",
        r"\b(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|6(?:011|5[0-9]{2})[0-9]{12}|(?:2131|1800|35\d{3})\d{11})\b|\b(?:\d{4}[- ]){3}\d{4}\b",
    ),
    ("#MYNUMBER", r"\b\d{12}\b"),
    ("#PHONE_JP", r"\b(0\d{1,4}-\d{1,4}-\d{4}|0\d{9,10})\b"),
    ("#PHONE_US", r"\b(?:\+?1[-. ]?)?\(?([0-9]{3})\)?[-. ]?([0-9]{3})[-. ]?([0-9]{4})\b"),
    ("#PHONE_INTL", r"\b\+(?:[0-9] ?){6,14}[0-9]\b"),
    ("#ZIP_JP", r"\b\d{3}-\d{4}\b"),
    ("#UUID", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
];

/// The regex of a keyword (`#IP`...), if `s` is one.
pub fn keyword_regex(s: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|(k, _)| *k == s).map(|(_, r)| *r)
}

/// Translates a simple filter into a regex; `None` for the empty filter.
pub fn simple_filter_regex(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if let Some(r) = keyword_regex(s) {
        return Some(r.to_string());
    }
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' | '.' | '+' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&'
            | '-' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if out.ends_with("\\$") {
        while out.ends_with("\\$") {
            out.truncate(out.len() - 2);
        }
        out.push('$');
    }
    Some(out)
}

/// The filter flags as given by the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilterSpec {
    /// `-f`: a simple filter.
    pub simple: Option<String>,
    /// `-r`: a regex that must match.
    pub regex: Option<String>,
    /// `-v`: a regex that must not match.
    pub not: Option<String>,
    /// Positional simple filters; a leading `^` excludes.
    pub args: Vec<String>,
}

/// A filter that cannot be compiled.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid {what} {pattern:?}: {reason}")]
pub struct FilterError {
    /// Which flag or argument.
    pub what: String,
    /// The text given.
    pub pattern: String,
    /// The regex engine's message.
    pub reason: String,
}

/// A compiled filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    /// What every matching record requires of the token index.
    req: Vec<super::plan::Req>,
    /// The longest literal every matching record contains, if any.
    literal: Option<Vec<u8>>,
    /// Unique per compiled filter (clones share it, and their regexes): keys the per-thread
    /// regex caches.
    id: u64,
}

/// Source of [`Filter`] ids (0 is the empty default filter).
static NEXT_FILTER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Regex scratch space of one thread for one filter.
struct Caches {
    id: u64,
    include: Vec<regex_automata::meta::Cache>,
    exclude: Vec<regex_automata::meta::Cache>,
}

thread_local! {
    /// Each worker thread keeps its own caches: the regexes' shared cache pool serves only
    /// one thread quickly, and makes the others contend for it on every record.
    static CACHES: std::cell::RefCell<Caches> =
        const { std::cell::RefCell::new(Caches { id: 0, include: Vec::new(), exclude: Vec::new() }) };
}

/// Compiles a regex with Go RE2-like settings: byte-oriented, ASCII classes.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .map_err(|e| match e.syntax_error() {
            // The syntax error says where and why; the build error alone only says "pattern 0".
            Some(se) => se.to_string().trim_end().to_string(),
            None => e.to_string(),
        })
}

impl Filter {
    /// Compiles the flags.
    pub fn new(spec: &FilterSpec) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        let mut reqs = Vec::new();
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let comp = |what: &str, given: &str, pat: &str| {
            compile_regex(pat).map_err(|reason| FilterError {
                what: what.to_string(),
                pattern: given.to_string(),
                reason,
            })
        };
        let mut note = |pat: &str| {
            reqs.push(super::plan::regex_req(pat));
            lits.extend(super::plan::required_literal(pat));
        };
        if let Some(r) = spec.regex.as_deref().filter(|r| !r.is_empty()) {
            f.include.push(comp("regex (-r)", r, r)?);
            note(r);
        }
        if let Some(s) = spec.simple.as_deref()
            && let Some(p) = simple_filter_regex(s)
        {
            f.include.push(comp("filter (-f)", s, &p)?);
            note(&p);
        }
        for a in &spec.args {
            if let Some(neg) = a.strip_prefix('^') {
                if let Some(p) = simple_filter_regex(neg) {
                    f.exclude.push(comp("exclusion filter", a, &p)?);
                }
            } else if let Some(p) = simple_filter_regex(a) {
                f.include.push(comp("filter", a, &p)?);
                note(&p);
            }
        }
        if let Some(v) = spec.not.as_deref().filter(|v| !v.is_empty()) {
            f.exclude.push(comp("exclusion regex (-v)", v, v)?);
        }
        f.req = reqs;
        f.literal = lits.into_iter().max_by_key(Vec::len);
        f.id = NEXT_FILTER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(f)
    }

    /// True when the filter accepts everything.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// What every matching record requires of the token index (AND of the includes).
    pub fn requirement(&self) -> super::plan::Req {
        super::plan::Req::and(self.req.clone())
    }

    /// The longest literal every matching record contains (for a substring prefilter).
    pub fn required_literal(&self) -> Option<&[u8]> {
        self.literal.as_deref()
    }

    /// True when `text` passes.
    pub fn matches(&self, text: &[u8]) -> bool {
        if self.is_empty() {
            return true;
        }
        CACHES.with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                if c.id != self.id {
                    c.include = self.include.iter().map(Regex::create_cache).collect();
                    c.exclude = self.exclude.iter().map(Regex::create_cache).collect();
                    c.id = self.id;
                }
                let Caches { include, exclude, .. } = &mut *c;
                let hit = |r: &Regex, cache: &mut regex_automata::meta::Cache| {
                    let input = regex_automata::Input::new(text).earliest(true);
                    r.search_half_with(cache, &input).is_some()
                };
                self.include.iter().zip(include.iter_mut()).all(|(r, c)| hit(r, c))
                    && !self.exclude.iter().zip(exclude.iter_mut()).any(|(r, c)| hit(r, c))
            }
            // Re-entered on this thread (not expected): use the regexes' own pool.
            Err(_) => {
                self.include.iter().all(|r| r.is_match(text))
                    && !self.exclude.iter().any(|r| r.is_match(text))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_filter_translation() {
        assert_eq!(simple_filter_regex("fail").unwrap(), "fail");
        assert_eq!(simple_filter_regex("Fail*pass?d").unwrap(), "Fail.*pass.d");
        assert_eq!(simple_filter_regex("a.b").unwrap(), r"a\.b");
        assert_eq!(simple_filter_regex("end$").unwrap(), "end$");
        assert_eq!(simple_filter_regex("x$$").unwrap(), "x$");
        assert_eq!(simple_filter_regex("$").unwrap(), "$");
        assert_eq!(simple_filter_regex("*").unwrap(), ".*");
        assert!(simple_filter_regex("").is_none());
        // Fixed upstream quirk: the backslash survives.
        assert_eq!(simple_filter_regex(r"abc\$").unwrap(), r"abc\\$");
    }

    fn m(spec: FilterSpec, text: &str) -> bool {
        Filter::new(&spec).unwrap().matches(text.as_bytes())
    }

    #[test]
    fn combination_semantics() {
        let args = |a: &[&str]| FilterSpec {
            args: a.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert!(m(args(&["fail"]), "auth failure"));
        assert!(!m(args(&["Fail"]), "auth failure"));
        assert!(!m(args(&["fail", "^auth"]), "auth failure"));
        assert!(m(args(&["a.b"]), "xa.bx"));
        assert!(!m(args(&["a.b"]), "xaxbx"));
        assert!(m(args(&["end$"]), "the end"));
        assert!(!m(args(&["end$"]), "the end."));
        assert!(m(args(&["#IP"]), "from 10.1.2.3 port"));
        assert!(m(FilterSpec { simple: Some("^abc".into()), ..Default::default() }, "x^abc"));
        let spec =
            FilterSpec { regex: Some(r"\d+".into()), not: Some("x".into()), ..Default::default() };
        assert!(m(spec.clone(), "a1"));
        assert!(!m(spec, "x1"));
        assert!(m(args(&["ログ"]), "このログです"));
        assert!(m(args(&[r"abc\$"]), r"abc\"));
    }

    #[test]
    fn ascii_classes_like_go() {
        // Go's \d is ASCII only.
        assert!(!m(FilterSpec { regex: Some(r"^\d$".into()), ..Default::default() }, "٣"));
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let e = Filter::new(&FilterSpec { regex: Some("a(".into()), ..Default::default() })
            .unwrap_err();
        assert_eq!(e.pattern, "a(");
        assert!(e.to_string().contains("-r"));
    }
}
