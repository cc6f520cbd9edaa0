//! Command-line arguments (clap derive). Flag names follow upstream twsla (camelCase long
//! names, the same short letters); kebab-case aliases are accepted too.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Simple Log Analyzer by TWSNMP, in Rust: import logs into a local store, then search and
/// analyse them.
#[derive(Debug, Parser)]
#[command(name = "twsla", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Log store directory.
    #[arg(
        short = 'd',
        long = "datastore",
        global = true,
        env = "TWSLA_DATASTORE",
        default_value = "./twsla.db"
    )]
    pub datastore: PathBuf,
    /// Time range: 1h, last 30m, 2024/1/1, start,end, start,1d, end,-1d.
    #[arg(
        short = 't',
        long = "timeRange",
        visible_alias = "time-range",
        global = true,
        env = "TWSLA_TIMERANGE",
        default_value = ""
    )]
    pub time_range: String,
    /// Simple filter: text with * and ?, a trailing $ anchors, or a keyword like #IP.
    #[arg(short = 'f', long = "filter", global = true, env = "TWSLA_FILTER")]
    pub filter: Option<String>,
    /// Regular expression that must match.
    #[arg(short = 'r', long = "regex", global = true, env = "TWSLA_REGEX")]
    pub regex: Option<String>,
    /// Regular expression that must not match.
    #[arg(short = 'v', long = "not", global = true, env = "TWSLA_NOT")]
    pub not: Option<String>,
    /// Zone-less times (in logs and in -t) are UTC; output times are UTC.
    #[arg(long = "utc", global = true, env = "TWSLA_UTC")]
    pub utc: bool,
    /// Config file (flat YAML; default ~/.twsla.yaml). Command line > TWSLA_* env > file.
    #[arg(long = "config", global = true, env = "TWSLA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Terminal UI: `g` shows charts as sixel images (for terminals that support sixel).
    #[arg(long = "sixel", global = true, env = "TWSLA_SIXEL")]
    pub sixel: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import logs (files, directories, .gz, .zip, .tar, .tar.gz, - for stdin) into the store.
    #[command(
        after_help = "Examples:\n  twsla import /var/log/syslog\n  twsla import -p '*.log' logs/ archive.tar.gz\n  zcat old.gz | twsla import -"
    )]
    Import(ImportArgs),
    /// Show the records that match the filters, in time order.
    #[command(
        after_help = "Examples:\n  twsla search sshd Failed\n  twsla search -t 'last 1h' -r 'port [0-9]+' ^CRON\n  twsla search --ndjson error | jq .text"
    )]
    Search(SearchArgs),
    /// Count records per time bucket, or per extracted key (-e).
    #[command(
        after_help = "Examples:\n  twsla count -i 3600 sshd\n  twsla count -e normalize\n  twsla count -e ip --ndjson"
    )]
    Count(CountArgs),
    /// Extract a value per record (-e), with its change and rate, or statistics.
    #[command(
        after_help = "Examples:\n  twsla extract -e 'time=*ms' --stats\n  twsla extract -e ip -n 1 sshd"
    )]
    Extract(ExtractArgs),
    /// Rare lines: lines with few similar lines (cosine of term counts, spec §6.4).
    #[command(
        after_help = "Examples:\n  twsla tfidf\n  twsla tfidf -l 0.7 -c 2 sshd\n  twsla tfidf -n 20 --ndjson"
    )]
    Tfidf(TfidfArgs),
    /// Anomalous lines: isolation-forest scores of per-line feature vectors (spec §6.5).
    #[command(
        after_help = "Examples:\n  twsla anomaly\n  twsla anomaly -m sql\n  twsla anomaly -m number -e 'load=*,'"
    )]
    Anomaly(AnomalyArgs),
    /// Late records: how far each went back in time, or its lag behind a timestamp in its text.
    #[command(after_help = "Examples:\n  twsla delay\n  twsla delay -q 1 GET")]
    Delay(DelayArgs),
    /// Records per date (or weekday, -w) and hour of day.
    #[command(after_help = "Examples:\n  twsla heatmap\n  twsla heatmap -w sshd")]
    Heatmap(HeatmapArgs),
    /// Records in time order with the time since a marked record and since the previous one.
    #[command(after_help = "Examples:\n  twsla time sshd Failed\n  twsla time -m 3 --ndjson")]
    Time(TimeArgs),
    /// Values of two or more items (ip, mac, email, url, kv, regex/P/) seen together: a graph.
    #[command(
        after_help = "Examples:\n  twsla relation ip mac\n  twsla relation ip ip:1 sshd\n  twsla relation 'regex/user=[a-z]+/' ip"
    )]
    Relation(RelationArgs),
    /// Check every checksum and invariant of the store; print per-segment statistics.
    #[command(after_help = "Examples:\n  twsla verify")]
    Verify(VerifyArgs),
    /// Print the version.
    Version,
    /// Print a shell completion script (bash, zsh, fish, powershell) to standard output.
    #[command(
        after_help = "Examples:\n  twsla completion bash > ~/.local/share/bash-completion/completions/twsla\n  twsla completion zsh > \"${fpath[1]}/_twsla\"\n  twsla completion fish > ~/.config/fish/completions/twsla.fish"
    )]
    Completion(CompletionArgs),
}

/// `twsla completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `twsla import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Sources: files, directories, archives, or - for standard input.
    pub sources: Vec<String>,
    /// A source, read before the positional ones (upstream compatibility).
    #[arg(short = 's', long = "source")]
    pub source: Option<String>,
    /// Only read directory entries and archive members whose name matches this simple filter.
    #[arg(short = 'p', long = "filePat", visible_alias = "file-pat")]
    pub file_pat: Option<String>,
    /// Do not look for timestamps: every record gets the import time.
    #[arg(long = "noTS", visible_alias = "no-ts")]
    pub no_ts: bool,
    /// Multi-line: a regex matching the first line of a record.
    #[arg(long = "mlStart", visible_alias = "ml-start")]
    pub ml_start: Option<String>,
    /// Multi-line: a regex matching the separator line that ends a record.
    #[arg(long = "mlSep", visible_alias = "ml-sep")]
    pub ml_sep: Option<String>,
    /// Multi-line: a fixed number of lines per record.
    #[arg(long = "mlLines", visible_alias = "ml-lines", default_value_t = 0)]
    pub ml_lines: usize,
    /// Look at the first 100 lines of each file, suggest multi-line settings, import nothing.
    #[arg(long = "mlInspect", visible_alias = "ml-inspect")]
    pub ml_inspect: bool,
    /// Lines longer than this many bytes are skipped and reported.
    #[arg(long = "maxLine", visible_alias = "max-line", default_value_t = 4 << 20)]
    pub max_line: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub ndjson: bool,
    /// Print no progress and no summary (problems are still reported).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `twsla search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// One JSON object per record: time, source, line, text.
    #[arg(long)]
    pub ndjson: bool,
    /// Stop after N records.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Newest records first.
    #[arg(long)]
    pub reverse: bool,
    /// Terminal UI colours: ip, mac, email, url, kv, filter, regex/PATTERN/COLOUR (comma-separated).
    #[arg(short = 'c', long = "color", default_value = "")]
    pub color: String,
    /// Terminal UI: wrap long lines (else scroll sideways).
    #[arg(short = 'w', long = "wrap")]
    pub wrap: bool,
}

/// `twsla count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// Count per key: ip, ipv6, mac, email, number, uuid, creditcard, mynumber, phone_jp,
    /// phone_us, phone_intl, zip_jp; a regex with a group (or %{word}, %{ip}, ... placeholders);
    /// json (with -n PATH); normalize; word; field; csv; tsv. Without it: per time bucket.
    #[arg(short = 'e', long = "extract", env = "TWSLA_EXTRACT")]
    pub extract: Option<String>,
    /// Options of the key modes.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Bucket size in seconds (0 = automatic: 60, 300, 600 or 3600 by the data's time span).
    #[arg(short = 'i', long = "interval", env = "TWSLA_INTERVAL", default_value_t = 0)]
    pub interval: u64,
    /// Only records at least N seconds earlier than the previous record of their source; with
    /// -q P, records whose time is at least N seconds after the P-th timestamp in their text.
    #[arg(long = "delay", default_value_t = 0)]
    pub delay: u64,
    /// With --delay: which timestamp inside the text to compare with (0 = the first).
    #[arg(short = 'q', long = "timePos", visible_alias = "time-pos")]
    pub time_pos: Option<usize>,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// What to extract (same modes as count -e).
    #[arg(short = 'e', long = "extract")]
    pub extract: String,
    /// Options of the key modes.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Print min, max, mean, median, mode and variance instead of the rows.
    #[arg(long)]
    pub stats: bool,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// Options shared by the `-e` modes of `count` and `extract`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Which match of the pattern (1-based); for field/csv/tsv the 0-based field number.
    #[arg(short = 'p', long = "pos", default_value_t = 1)]
    pub pos: usize,
    /// JSONPath for -e json ($.a.b, or a bare top-level name; default: Value); the capture of
    /// -e grok.
    #[arg(short = 'n', long = "name", env = "TWSLA_NAME", default_value = "")]
    pub name: String,
    /// Grok pattern for -e grok: '%{COMBINEDAPACHELOG}' (with -n clientip) or a name like IP.
    #[arg(
        short = 'x',
        long = "grokPat",
        visible_alias = "grok-pat",
        env = "TWSLA_GROKPAT",
        default_value = ""
    )]
    pub grok_pat: String,
    /// Extra grok definitions: a file of lines `NAME definition` (`full` = built-ins only).
    #[arg(short = 'g', long = "grok", env = "TWSLA_GROK")]
    pub grok: Option<std::path::PathBuf>,
    /// Turn extracted IPs into: host (reverse DNS), domain, loc, country (loc/country need --geoip).
    #[arg(long = "ip", value_enum, env = "TWSLA_IP")]
    pub ip: Option<crate::analyze::ipinfo::IpMode>,
    /// MaxMind City or Country database (.mmdb) for --ip loc|country.
    #[arg(long = "geoip", env = "TWSLA_GEOIP")]
    pub geoip: Option<std::path::PathBuf>,
}

/// `twsla verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One JSON object per segment.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla tfidf`.
#[derive(Debug, Args)]
pub struct TfidfArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// Similarity threshold between lines (cosine of term counts, 0..1).
    #[arg(short = 'l', long = "limit", default_value_t = 0.5)]
    pub limit: f64,
    /// How many lines may be more similar than the threshold for a line to stay rare.
    #[arg(short = 'c', long = "count", default_value_t = 0)]
    pub count: u64,
    /// Instead: the N lines whose most similar line is least similar (ignores -l and -c).
    #[arg(short = 'n', long = "top", default_value_t = 0)]
    pub top: usize,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla anomaly`.
#[derive(Debug, Args)]
pub struct AnomalyArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// Feature vectors: tfidf (term weights), sql, os, dir (keyword counts), walu (request
    /// shape), number (the numbers of the line, see -e).
    #[arg(short = 'm', long = "mode", value_enum, default_value = "tfidf")]
    pub mode: crate::analyze::anomaly::Mode,
    /// number mode: `pre*suf` takes the numbers between the first `pre` and the next `suf`
    /// (either may be empty); lines without them are skipped.
    #[arg(short = 'e', long = "extract")]
    pub extract: Option<String>,
    /// What becomes the vector: request (access-log lines: the percent-decoded, lower-case
    /// request URI; walu: the raw request; other lines: the whole line; not upstream: on web
    /// logs it ranks attacks far higher) or line (the whole line, as upstream).
    #[arg(long, value_enum, default_value = "request")]
    pub part: crate::analyze::anomaly::Part,
    /// Seed of the random generator (same seed and data = same scores).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Trees of the isolation forest.
    #[arg(long, default_value_t = 1000)]
    pub trees: usize,
    /// Lines drawn per tree (all when there are fewer; upstream: 256, which rarely draws a
    /// line with a rare keyword, so the trees cannot tell it apart).
    #[arg(long, default_value_t = 4096)]
    pub sample: usize,
    /// Only the N highest scores (0 = all lines).
    #[arg(short = 'n', long = "top", default_value_t = 0)]
    pub top: usize,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla delay`.
#[derive(Debug, Args)]
pub struct DelayArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// 0: records earlier than the previous record of their source (delay = how far back);
    /// P >= 1: the record's time minus the P-th further timestamp in its text.
    #[arg(short = 'q', long = "timePos", visible_alias = "time-pos", default_value_t = 0)]
    pub time_pos: usize,
    /// Row order: delay (largest first) or time.
    #[arg(long = "sort", value_enum, default_value = "delay")]
    pub sort: DelaySort,
    /// Only the first N rows (in the chosen order).
    #[arg(long)]
    pub limit: Option<usize>,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// Row order of `delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DelaySort {
    /// Largest delay first.
    Delay,
    /// Oldest first.
    Time,
}

/// `twsla heatmap`.
#[derive(Debug, Args)]
pub struct HeatmapArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// Per weekday (Sunday..Saturday) instead of per date.
    #[arg(short = 'w', long = "week")]
    pub week: bool,
    /// One JSON object per row.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla time`.
#[derive(Debug, Args)]
pub struct TimeArgs {
    /// Simple filters; a leading ^ excludes.
    pub filters: Vec<String>,
    /// The reference row (0-based) that Diff is measured from.
    #[arg(short = 'm', long = "mark", default_value_t = 0)]
    pub mark: u64,
    /// One JSON object per row, then one with the statistics.
    #[arg(long)]
    pub ndjson: bool,
}

/// `twsla relation`.
#[derive(Debug, Args)]
pub struct RelationArgs {
    /// Two or more items: ip, ipv6, mac, email, url, kv, regex/PATTERN/ (each may end in :N,
    /// the N-th match, 0-based); other words are simple filters (a leading ^ excludes).
    #[arg(required = true)]
    pub words: Vec<String>,
    /// One JSON object per tuple, then the graph's nodes and edges.
    #[arg(long)]
    pub ndjson: bool,
}
