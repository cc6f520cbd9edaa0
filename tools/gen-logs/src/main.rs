//! gen-logs: deterministic generator of large synthetic log corpora for
//! benchmarking twsla. See `gen-logs --help`.

mod buf;
mod clock;
mod generate;
mod rng;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::process::ExitCode;

use generate::{Config, Format, Summary};

const DEFAULT_START: &str = "2026-10-01T00:00:00Z";
const WRITE_BUFFER: usize = 8 << 20;

const HELP: &str = "\
gen-logs: deterministic generator of large synthetic log corpora (twsla benchmarks)

USAGE:
    gen-logs --format syslog|apache|jsonl|mixed --size SIZE [OPTIONS]

OPTIONS:
    --format FMT       syslog  RFC 3164 lines: 'Oct  1 00:00:03 host12 sshd[2231]: ...'
                               (sshd, kernel, cron, postfix, dhcpd, nginx, app, systemd)
                       apache  combined log format
                       jsonl   {\"time\":\"2026-10-01T00:00:03.123Z\",\"level\":..,\"host\":..,\"msg\":..,\"ip\":..}
                       mixed   the three above interleaved, plus multi-line Java stack
                               traces (a timestamped line followed by 3-8 '\\tat ...' lines)
    --size SIZE        output size: bytes, or with suffix K, M, G, T (powers of 1024;
                       'B'/'iB' may follow, e.g. 500M, 1G, 1.5GiB). Generation stops
                       after the first record that reaches SIZE bytes.
    --seed N           random seed (default 1). Same arguments => byte-identical output.
    --days N           spread timestamps evenly over N days (default 30)
    --start TIME       first timestamp, UTC, YYYY-MM-DD[THH:MM:SS[.fff]][Z]
                       (default 2026-10-01T00:00:00Z)
    --unsorted F       fraction F (0..1) of records get their timestamp moved back by
                       up to one hour (out-of-order lines; default 0). Apart from
                       the times, the output is the same as without this option.
    --out FILE|-       output file (default '-', standard output)
    -h, --help         print this help

RARE MARKER:
    Exactly one line in 2000 (0.05%) contains the token XYZZYFAIL: the lines numbered
    2000, 4000, 6000, ... (for 'mixed', the first record starting at or after each
    such line). The token appears nowhere else, so for syslog/apache/jsonl
        grep -c XYZZYFAIL FILE  ==  lines / 2000   (integer division)

SUMMARY:
    At the end a line 'lines=N bytes=N rare=N' is printed to standard error.

EXAMPLES:
    gen-logs --format syslog --size 1G --out /tmp/syslog-1G.log
    gen-logs --format mixed --size 100M --seed 7 --unsorted 0.01 | gzip -1 > mixed.log.gz
";

#[derive(Debug)]
enum Error {
    Usage(String),
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}\n(see gen-logs --help)"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::Usage(msg.into()))
}

struct Args {
    cfg: Config,
    out: Option<String>,
}

/// Parse a size such as `1G`, `500M`, `1.5GiB`, `4096`.
fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return None,
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    let v = if let Ok(n) = num.parse::<u64>() {
        n.checked_mul(mult)?
    } else {
        let f: f64 = num.parse().ok()?;
        let v = f * mult as f64;
        if !v.is_finite() || v >= u64::MAX as f64 {
            return None;
        }
        v.round() as u64
    };
    (v > 0).then_some(v)
}

fn parse_args(argv: &[String]) -> Result<Option<Args>, Error> {
    let mut format = None;
    let mut size = None;
    let mut seed = 1u64;
    let mut days = 30u32;
    let mut start = DEFAULT_START.to_string();
    let mut unsorted = 0.0f64;
    let mut out = None;

    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let known =
            ["--format", "--size", "--seed", "--days", "--start", "--unsorted", "--out", "-o"];
        if !known.contains(&key) {
            return usage(format!("unknown argument '{arg}'"));
        }
        let val = match inline {
            Some(v) => v,
            None => match it.next() {
                Some(v) => v.clone(),
                None => return usage(format!("{key} needs a value")),
            },
        };
        match key {
            "--format" => match Format::parse(&val) {
                Some(f) => format = Some(f),
                None => return usage(format!("unknown format '{val}'")),
            },
            "--size" => match parse_size(&val) {
                Some(s) => size = Some(s),
                None => return usage(format!("bad size '{val}' (try 500M or 1G)")),
            },
            "--seed" => match val.parse() {
                Ok(s) => seed = s,
                Err(_) => return usage(format!("bad seed '{val}' (want an unsigned integer)")),
            },
            "--days" => match val.parse() {
                Ok(d) if (1..=36_500).contains(&d) => days = d,
                _ => return usage(format!("bad --days '{val}' (want 1..36500)")),
            },
            "--start" => start = val,
            "--unsorted" => match val.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => unsorted = f,
                _ => return usage(format!("bad --unsorted '{val}' (want a fraction 0..1)")),
            },
            _ => out = Some(val),
        }
    }
    let Some(format) = format else {
        return usage("--format is required");
    };
    let Some(size) = size else {
        return usage("--size is required");
    };
    let Some(start_ms) = clock::parse_rfc3339(&start) else {
        return usage(format!(
            "bad --start '{start}' (want e.g. {DEFAULT_START}, UTC, year 1970..9999)"
        ));
    };
    let out = out.filter(|o| o != "-");
    Ok(Some(Args { cfg: Config { format, size, seed, days, start_ms, unsorted }, out }))
}

fn run(argv: &[String]) -> Result<Option<Summary>, Error> {
    let Some(args) = parse_args(argv)? else {
        print!("{HELP}");
        return Ok(None);
    };
    let sum = match &args.out {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot create {path}: {e}")))?;
            let mut w = BufWriter::with_capacity(WRITE_BUFFER, file);
            generate::generate(&args.cfg, &mut w)?
        }
        None => {
            let mut w = BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock());
            generate::generate(&args.cfg, &mut w)?
        }
    };
    Ok(Some(sum))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(Some(s)) => {
            eprintln!("lines={} bytes={} rare={}", s.lines, s.bytes, s.rare);
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        // `gen-logs ... | head` is normal use: stop quietly.
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-logs: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Option<Args>, Error> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&v)
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("2KB"), Some(2048));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        for bad in ["", "0", "G", "1X", "-1M", "1..5M", "99999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn cli() {
        let a = args("--format syslog --size 1M").unwrap().unwrap();
        assert_eq!(
            (a.cfg.format, a.cfg.size, a.cfg.seed, a.cfg.days),
            (Format::Syslog, 1 << 20, 1, 30)
        );
        assert_eq!(a.out, None);
        let a = args("--format=mixed --size=2K --seed=9 --days 3 --unsorted 0.25 --out x.log")
            .unwrap()
            .unwrap();
        assert_eq!((a.cfg.format, a.cfg.seed, a.cfg.days), (Format::Mixed, 9, 3));
        assert_eq!(a.cfg.unsorted, 0.25);
        assert_eq!(a.out.as_deref(), Some("x.log"));
        assert!(args("--format syslog --size 1M --out -").unwrap().unwrap().out.is_none());
        assert!(args("--help").unwrap().is_none());
        for bad in [
            "",
            "--size 1M",
            "--format syslog",
            "--format xml --size 1M",
            "--format syslog --size 1M --unsorted 2",
            "--format syslog --size 1M --days 0",
            "--format syslog --size 1M --start 2026-13-01",
            "--format syslog --size 1M --bogus",
            "--format syslog --size",
        ] {
            assert!(matches!(args(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn help_matches_generator() {
        assert!(HELP.contains(generate::RARE_TOKEN));
        assert!(HELP.contains(&format!("one line in {}", generate::RARE_EVERY)));
        assert!(HELP.contains(DEFAULT_START));
    }
}
