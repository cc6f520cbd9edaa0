//! THE tokenizer: the one definition of a token, shared by the index writer and by queries.
//!
//! Rules (version [`TOKENIZER_VERSION`], normative text in `segment-format/tokenizer.md`):
//! * A token is a maximal run of *word bytes*: ASCII letters, ASCII digits, `_`, and every byte
//!   `>= 0x80` (so UTF-8 words stay whole and invalid bytes never split oddly).
//! * Case is preserved (twsla filters are case-sensitive).
//! * Tokens longer than [`MAX_TOKEN_LEN`] bytes are not indexed themselves; a block holding
//!   one is recorded under [`LONG_TOKEN_MARKER`] (the empty token), so that partial-token
//!   queries (prefix, suffix, substring) still find it.
//!
//! Any change to these rules changes which rows an index returns, so it must bump
//! [`TOKENIZER_VERSION`] and the segment format version.

/// Version of the tokenization rules stored in every segment.
pub const TOKENIZER_VERSION: u32 = 1;
/// Longest token (in bytes) that is indexed.
pub const MAX_TOKEN_LEN: usize = 64;

const fn word_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        i += 1;
    }
    t
}

static WORD: [bool; 256] = word_table();

/// True when `b` belongs inside a token.
#[inline]
pub fn is_word_byte(b: u8) -> bool {
    WORD[b as usize]
}

/// Calls `f(start, end)` for every maximal run of word bytes in `text`.
#[inline]
fn for_each_run(text: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    let n = text.len();
    while i < n {
        // Skip separators.
        while i < n && !WORD[text[i] as usize] {
            i += 1;
        }
        let start = i;
        while i < n && WORD[text[i] as usize] {
            i += 1;
        }
        if i > start {
            f(start, i);
        }
    }
}

/// Calls `f` with every indexable token of `text`, in order (duplicates included).
#[inline]
pub fn for_each_token<'t>(text: &'t [u8], mut f: impl FnMut(&'t [u8])) {
    for_each_run(text, |a, z| {
        if z - a <= MAX_TOKEN_LEN {
            f(&text[a..z]);
        }
    });
}

/// The index term recorded for a block that contains a token longer than [`MAX_TOKEN_LEN`]:
/// the empty token, which the tokenizer never produces. Queries that match parts of tokens
/// (prefix, suffix, substring) must also consider these blocks.
pub const LONG_TOKEN_MARKER: &[u8] = b"";

/// Calls `f` with every index term of `text`: each token of at most [`MAX_TOKEN_LEN`] bytes,
/// and [`LONG_TOKEN_MARKER`] for each longer one.
#[inline]
pub fn for_each_index_term<'t>(text: &'t [u8], mut f: impl FnMut(&'t [u8])) {
    for_each_run(text, |a, z| {
        f(if z - a > MAX_TOKEN_LEN { LONG_TOKEN_MARKER } else { &text[a..z] })
    });
}

/// Collects the tokens of `text` (test and tooling helper).
pub fn tokens(text: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    for_each_token(text, |t| v.push(t));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<&[u8]>) -> Vec<String> {
        v.into_iter().map(|t| String::from_utf8_lossy(t).into_owned()).collect()
    }

    #[test]
    fn splits_on_punctuation_and_keeps_case() {
        assert_eq!(
            s(tokens(b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: rhost=218.188.2.4")),
            [
                "Jun", "14", "15", "16", "01", "combo", "sshd", "pam_unix", "19939", "rhost",
                "218", "188", "2", "4"
            ]
        );
    }

    #[test]
    fn utf8_and_invalid_bytes_are_word_bytes() {
        assert_eq!(s(tokens("ログ 解析!".as_bytes())), ["ログ", "解析"]);
        assert_eq!(tokens(b"a\xffb c"), vec![&b"a\xffb"[..], b"c"]);
    }

    #[test]
    fn long_tokens_are_not_indexed() {
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        let ok = "y".repeat(MAX_TOKEN_LEN);
        let text = format!("{long} {ok}");
        assert_eq!(s(tokens(text.as_bytes())), [ok]);
    }

    #[test]
    fn empty_and_separator_only() {
        assert!(tokens(b"").is_empty());
        assert!(tokens(b" :-[]{} ").is_empty());
    }
}
