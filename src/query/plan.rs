//! The planner: which blocks of a segment can hold a match, from the token index.
//!
//! Every include filter (simple filters and regexes) is reduced to a [`Req`]: an AND/OR tree
//! of token predicates that any matching record must satisfy. A literal such as
//! `authentication failure` must appear in the text, so its inner words are whole tokens, its
//! first word is the end of a token and its last word the start of one (the literal may begin
//! or end inside a longer token). Regexes contribute the literals they require (via
//! `regex-syntax`); anything the index cannot express is [`Req::All`]. Candidates are then
//! verified with the real matcher, so the index only prunes and never decides.

use regex_syntax::hir::{Hir, HirKind};
use roaring::RoaringBitmap;

use crate::store::StoreError;
use crate::store::segment::{Segment, TokenMatch};
use crate::store::tokenizer::{MAX_TOKEN_LEN, is_word_byte};

/// A requirement on a record's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Req {
    /// No constraint the index can check.
    All,
    /// A token must match.
    Token(TokenMatch),
    /// Every part must hold.
    And(Vec<Req>),
    /// At least one part must hold.
    Or(Vec<Req>),
}

impl Req {
    pub(crate) fn and(parts: Vec<Req>) -> Req {
        let mut v: Vec<Req> = Vec::new();
        for p in parts {
            match p {
                Req::All => {}
                Req::And(inner) => v.extend(inner),
                other => v.push(other),
            }
        }
        match v.len() {
            0 => Req::All,
            1 => v.pop().unwrap_or(Req::All),
            _ => Req::And(v),
        }
    }

    fn or(parts: Vec<Req>) -> Req {
        let mut v = Vec::new();
        for p in parts {
            match p {
                Req::All => return Req::All,
                Req::Or(inner) => v.extend(inner),
                other => v.push(other),
            }
        }
        match v.len() {
            0 => Req::All,
            1 => v.pop().unwrap_or(Req::All),
            _ => Req::Or(v),
        }
    }

    /// True when the index cannot prune anything with this requirement.
    pub fn is_all(&self) -> bool {
        matches!(self, Req::All)
    }
}

/// What a literal that must appear in the text requires of the tokens.
pub fn literal_req(lit: &[u8]) -> Req {
    // Word runs of the literal with their positions.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < lit.len() {
        if is_word_byte(lit[i]) {
            let s = i;
            while i < lit.len() && is_word_byte(lit[i]) {
                i += 1;
            }
            words.push((s, i));
        } else {
            i += 1;
        }
    }
    let n = words.len();
    let mut parts = Vec::with_capacity(n);
    for (k, &(s, e)) in words.iter().enumerate() {
        let w = lit[s..e].to_vec();
        // A word touching the start (end) of the literal may continue to the left (right).
        let open_left = k == 0 && s == 0;
        let open_right = k + 1 == n && e == lit.len();
        let m = match (open_left, open_right) {
            (false, false) => {
                if w.len() > MAX_TOKEN_LEN {
                    // Such a token is not indexed (only the long-token marker is).
                    TokenMatch::LongMarker
                } else {
                    TokenMatch::Exact(w)
                }
            }
            (true, false) => TokenMatch::Suffix(w),
            (false, true) => TokenMatch::Prefix(w),
            (true, true) => TokenMatch::Contains(w),
        };
        parts.push(Req::Token(m));
    }
    Req::and(parts)
}

fn hir_req(h: &Hir) -> Req {
    match h.kind() {
        HirKind::Literal(l) => literal_req(&l.0),
        HirKind::Concat(items) => {
            // Adjacent literals are already merged by the parser; each item is independent.
            Req::and(items.iter().map(hir_req).collect())
        }
        HirKind::Alternation(items) => Req::or(items.iter().map(hir_req).collect()),
        HirKind::Repetition(r) if r.min >= 1 => hir_req(&r.sub),
        HirKind::Capture(c) => hir_req(&c.sub),
        _ => Req::All,
    }
}

fn parse(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).ok()
}

/// What a regex (Go RE2-like syntax, as [`super::filter::compile_regex`] uses) requires.
pub fn regex_req(pattern: &str) -> Req {
    parse(pattern).map_or(Req::All, |h| hir_req(&h))
}

fn hir_literals(h: &Hir, out: &mut Vec<Vec<u8>>) {
    match h.kind() {
        HirKind::Literal(l) => out.push(l.0.to_vec()),
        HirKind::Concat(items) => items.iter().for_each(|i| hir_literals(i, out)),
        HirKind::Repetition(r) if r.min >= 1 => hir_literals(&r.sub, out),
        HirKind::Capture(c) => hir_literals(&c.sub, out),
        _ => {}
    }
}

/// The longest literal that every match of `pattern` contains (for a memmem prefilter).
pub fn required_literal(pattern: &str) -> Option<Vec<u8>> {
    let h = parse(pattern)?;
    let mut lits = Vec::new();
    hir_literals(&h, &mut lits);
    lits.into_iter().filter(|l| !l.is_empty()).max_by_key(Vec::len)
}

/// The frames of `seg` (ids as in [`Segment::postings`]) that may hold a record satisfying
/// `req`; `None` means all frames.
pub fn candidate_frames(seg: &Segment, req: &Req) -> Result<Option<RoaringBitmap>, StoreError> {
    Ok(match req {
        Req::All => None,
        Req::Token(m) => Some(seg.frames_matching(m)?),
        Req::And(parts) => {
            let mut acc: Option<RoaringBitmap> = None;
            for p in parts {
                if let Some(b) = candidate_frames(seg, p)? {
                    acc = Some(match acc {
                        Some(a) => a & b,
                        None => b,
                    });
                    if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                        break;
                    }
                }
            }
            acc
        }
        Req::Or(parts) => {
            let mut acc = RoaringBitmap::new();
            for p in parts {
                match candidate_frames(seg, p)? {
                    Some(b) => acc |= b,
                    None => return Ok(None),
                }
            }
            Some(acc)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(m: TokenMatch) -> Req {
        Req::Token(m)
    }
    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn literals() {
        assert_eq!(literal_req(b"fail"), t(TokenMatch::Contains(v("fail"))));
        assert_eq!(
            literal_req(b"authentication failure"),
            Req::And(vec![
                t(TokenMatch::Suffix(v("authentication"))),
                t(TokenMatch::Prefix(v("failure")))
            ])
        );
        assert_eq!(
            literal_req(b" sshd[1]: x"),
            Req::And(vec![
                t(TokenMatch::Exact(v("sshd"))),
                t(TokenMatch::Exact(v("1"))),
                t(TokenMatch::Prefix(v("x")))
            ])
        );
        assert_eq!(literal_req(b": "), Req::All);
        assert_eq!(literal_req(b""), Req::All);
    }

    #[test]
    fn regexes() {
        assert_eq!(
            regex_req("user [0-9]+ failed"),
            Req::And(vec![t(TokenMatch::Suffix(v("user"))), t(TokenMatch::Prefix(v("failed")))])
        );
        assert_eq!(
            regex_req("(alpha|beta)x"),
            Req::And(vec![
                Req::Or(vec![
                    t(TokenMatch::Contains(v("alpha"))),
                    t(TokenMatch::Contains(v("beta")))
                ]),
                t(TokenMatch::Contains(v("x")))
            ])
        );
        assert_eq!(regex_req(r"\d+"), Req::All);
        assert_eq!(regex_req("a|.*"), Req::All);
        assert_eq!(regex_req("(?i)error"), Req::All);
        assert_eq!(regex_req("x?"), Req::All);
        assert_eq!(regex_req("a("), Req::All);
    }

    #[test]
    fn required_literals() {
        assert_eq!(
            required_literal("Failed password for [a-z]+ from"),
            Some(v("Failed password for "))
        );
        assert_eq!(required_literal(r"\d+"), None);
        assert_eq!(required_literal("a|bc"), None);
        assert_eq!(required_literal("(xy)+z?"), Some(v("xy")));
    }
}
