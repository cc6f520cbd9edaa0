//! Display-time highlighting of search results (spec §5): colour modes and the marker.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use regex_automata::meta::Regex;

use crate::query::filter::{compile_regex, keyword_regex, simple_filter_regex};

/// One highlighting rule: matches of `re` get `style`.
#[derive(Debug, Clone)]
pub struct Rule {
    re: Regex,
    style: Style,
}

/// The include filters of a search, for the `filter` colour mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterHints {
    /// `-r`: shown in red (9).
    pub regex: Option<String>,
    /// `-f` and the positional filters (those without `^`): shown in magenta (5).
    pub simple: Vec<String>,
}

fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

fn rule(pat: &str, style: Style, what: &str) -> Result<Rule, String> {
    compile_regex(pat)
        .map(|re| Rule { re, style })
        .map_err(|e| format!("{what}: invalid regex {pat:?}: {e}"))
}

/// A colour: an ANSI index (0-255) or `#rrggbb`.
pub fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    s.parse::<u8>().ok().map(Color::Indexed)
}

/// Parses colour modes `ip,mac,email,url,kv,filter,regex/PATTERN/COLOUR` (split on `,`, so a
/// pattern cannot contain a comma, as upstream). Empty parts are ignored.
pub fn parse_modes(spec: &str, hints: &FilterHints) -> Result<Vec<Rule>, String> {
    let mut out = Vec::new();
    for mode in spec.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let keyword = |k: &str, c: u8| -> Result<Rule, String> {
            rule(keyword_regex(k).unwrap_or_default(), fg(Color::Indexed(c)), mode)
        };
        match mode {
            "ip" => out.push(keyword("#IP", 10)?),
            "mac" => out.push(keyword("#MAC", 11)?),
            "email" => out.push(keyword("#EMAIL", 12)?),
            "url" => out.push(keyword("#URL", 14)?),
            "kv" => out.push(rule(r"\w+=\w+[ ,]?", fg(Color::Indexed(3)), mode)?),
            "filter" => {
                if let Some(r) = &hints.regex {
                    out.push(rule(r, fg(Color::Indexed(9)), "filter -r")?);
                }
                for s in &hints.simple {
                    if let Some(p) = simple_filter_regex(s) {
                        out.push(rule(&p, fg(Color::Indexed(5)), "filter")?);
                    }
                }
            }
            _ => {
                let bad = || {
                    format!(
                        "unknown colour mode {mode:?}: use ip, mac, email, url, kv, filter or \
                         regex/PATTERN/COLOUR (COLOUR: 0-255 or #rrggbb)"
                    )
                };
                let rest = mode.strip_prefix("regex/").ok_or_else(bad)?;
                let (pat, color) = rest.rsplit_once('/').ok_or_else(bad)?;
                let c = parse_color(color).ok_or_else(|| {
                    format!("colour mode {mode:?}: bad colour {color:?} (0-255 or #rrggbb)")
                })?;
                if pat.is_empty() {
                    return Err(format!("colour mode {mode:?}: empty pattern"));
                }
                out.push(rule(pat, fg(c), mode)?);
            }
        }
    }
    Ok(out)
}

/// The marker: `regex:PATTERN` or a simple filter; shown white on `#c00000`.
pub fn parse_marker(spec: &str) -> Result<Option<Rule>, String> {
    let style = Style::new().fg(Color::White).bg(Color::Rgb(0xc0, 0, 0));
    let spec = spec.trim();
    if let Some(re) = spec.strip_prefix("regex:") {
        return if re.is_empty() { Ok(None) } else { rule(re, style, "marker").map(Some) };
    }
    match simple_filter_regex(spec) {
        Some(p) => rule(&p, style, "marker").map(Some),
        None => Ok(None),
    }
}

/// `text` as spans styled by `rules` (later rules win where matches overlap), then `marker`.
pub fn highlight(text: &str, rules: &[Rule], marker: Option<&Rule>) -> Line<'static> {
    if rules.is_empty() && marker.is_none() {
        return Line::from(text.to_string());
    }
    let all: Vec<&Rule> = rules.iter().chain(marker).collect();
    // Style index per byte: 0 = plain, i + 1 = all[i].
    let mut paint = vec![0u16; text.len()];
    for (i, r) in all.iter().enumerate() {
        for m in r.re.find_iter(text.as_bytes()) {
            if m.is_empty() {
                continue;
            }
            paint[m.start()..m.end()].fill(i as u16 + 1);
        }
    }
    let mut spans = Vec::new();
    let mut cur = 0u16;
    let mut start = 0usize;
    // Split only at char boundaries; a char takes the style of its first byte.
    for (pos, _) in text.char_indices() {
        let p = paint[pos];
        if p != cur {
            if pos > start {
                spans.push(span(&text[start..pos], cur, &all));
            }
            start = pos;
            cur = p;
        }
    }
    if start < text.len() {
        spans.push(span(&text[start..], cur, &all));
    }
    Line::from(spans)
}

fn span(s: &str, p: u16, all: &[&Rule]) -> Span<'static> {
    match p {
        0 => Span::raw(s.to_string()),
        i => Span::styled(s.to_string(), all[usize::from(i) - 1].style),
    }
}
