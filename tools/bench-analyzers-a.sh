#!/usr/bin/env bash
# Benchmark of the tfidf and anomaly analyzers of twsla.
#
# Generates (once) a deterministic corpus with tools/gen-logs, imports it into a
# store (once), then times each analyzer command once with GNU time and prints a
# Markdown table: wall seconds, peak RSS and records per second.
#
# Environment:
#   SIZE=100M          corpus size (gen-logs --size syntax); syslog lines are
#                      about 100 bytes, so 100M is about 1 million lines
#   FORMAT=syslog      gen-logs format: syslog | apache | jsonl | mixed
#   SEED=1             gen-logs seed
#   TWSLA_BENCH_DIR    where corpora, stores and results go (default
#                      /tmp/twsla-bench; never inside the repository)
#   BUILD=1            0 = skip `cargo build --release` and use existing binaries
#   TWSLA, GEN_LOGS    binaries (default $CARGO_TARGET_DIR or <repo>/target,
#                      release/twsla and release/gen-logs)
#   TREES=1000         isolation-forest trees of the anomaly runs
#   COMMANDS           space-separated subset of: tfidf tfidf-n20 anomaly-tfidf
#                      anomaly-sql anomaly-os anomaly-dir anomaly-walu anomaly-number
#                      (default: all)
#
# anomaly runs use `-n 100` (the 100 highest scores): every line is still scored,
# only the output (and the read-back of texts) is limited. tfidf prints every rare
# line. Output goes to a file, not a pipe. Needs bash >= 5 and GNU time at
# /usr/bin/time (Debian package `time`).

set -euo pipefail
export LC_ALL=C

die() {
    printf 'bench-analyzers-a: %s\n' "$*" >&2
    exit 1
}
note() { printf '>> %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-100M}
FORMAT=${FORMAT:-syslog}
SEED=${SEED:-1}
BENCH_DIR=${TWSLA_BENCH_DIR:-/tmp/twsla-bench}
BUILD=${BUILD:-1}
TREES=${TREES:-1000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TWSLA=${TWSLA:-$TARGET_DIR/release/twsla}
GEN_LOGS=${GEN_LOGS:-$TARGET_DIR/release/gen-logs}
ALL="tfidf tfidf-n20 anomaly-tfidf anomaly-sql anomaly-os anomaly-dir anomaly-walu anomaly-number"
COMMANDS=${COMMANDS:-$ALL}

[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash >= 5 (for \$EPOCHREALTIME)"
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be an unsigned integer, got '$SEED'"
[[ $TREES =~ ^[1-9][0-9]*$ ]] || die "TREES must be a positive integer, got '$TREES'"
[[ $SIZE =~ ^[0-9.]+[KMGTkmgt]?(i?B)?$ ]] || die "SIZE must look like 100M or 1G, got '$SIZE'"
case $FORMAT in
syslog | apache | jsonl | mixed) ;;
*) die "FORMAT must be syslog, apache, jsonl or mixed, got '$FORMAT'" ;;
esac
for c in $COMMANDS; do
    [[ " $ALL " == *" $c "* ]] || die "unknown command '$c' (known: $ALL)"
done
/usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null ||
    die "GNU time not found at /usr/bin/time: install it with 'apt-get install time'"

BENCH_DIR=$(realpath -m -- "$BENCH_DIR")
case "$BENCH_DIR/" in
"$(realpath -- "$ROOT")"/*) die "TWSLA_BENCH_DIR ($BENCH_DIR) is inside the repository" ;;
esac
mkdir -p "$BENCH_DIR"

if [[ $BUILD != 0 ]]; then
    note "building release binaries"
    (cd "$ROOT" && cargo build --release -p twsla -p gen-logs)
fi
[[ -x $TWSLA ]] || die "twsla binary not found at $TWSLA"
[[ -x $GEN_LOGS ]] || die "gen-logs binary not found at $GEN_LOGS"

CORPUS=$BENCH_DIR/$FORMAT-$SIZE-seed$SEED.log
if [[ ! -s $CORPUS ]]; then
    note "generating $CORPUS"
    "$GEN_LOGS" --format "$FORMAT" --size "$SIZE" --seed "$SEED" --out "$CORPUS.tmp" 2>/dev/null ||
        die "gen-logs failed"
    mv "$CORPUS.tmp" "$CORPUS"
fi
LINES=$(wc -l <"$CORPUS")
STORE=$BENCH_DIR/store-analyzers-$FORMAT-$SIZE-seed$SEED
if [[ ! -d $STORE || $STORE -ot $CORPUS || $STORE -ot $TWSLA ]]; then
    rm -rf "$STORE"
    note "importing $CORPUS ($LINES lines) into $STORE"
    "$TWSLA" import -q -d "$STORE" --utc "$CORPUS" || die "import failed"
fi

WORK=$(mktemp -d "$BENCH_DIR/analyzers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

args_of() {
    case $1 in
    tfidf) echo "tfidf --ndjson" ;;
    tfidf-n20) echo "tfidf --ndjson -n 20" ;;
    anomaly-number) echo "anomaly --ndjson -n 100 --trees $TREES -m number" ;;
    anomaly-*) echo "anomaly --ndjson -n 100 --trees $TREES -m ${1#anomaly-}" ;;
    esac
}

ROWS=()
for c in $COMMANDS; do
    read -r -a a <<<"$(args_of "$c")"
    note "twsla ${a[*]}"
    t0=$EPOCHREALTIME
    if ! /usr/bin/time -o "$WORK/time" -f '%e %M' "$TWSLA" -d "$STORE" --utc "${a[@]}" \
        >"$WORK/out" 2>"$WORK/err"; then
        code=$?
        # Exit 1 = nothing found / scored: still a valid measurement.
        [[ $code == 1 ]] || { cat "$WORK/err" >&2; die "twsla ${a[*]} failed ($code)"; }
    fi
    t1=$EPOCHREALTIME
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    rss=$(awk 'END { printf "%.0f", $NF / 1024 }' "$WORK/time")
    rows=$(wc -l <"$WORK/out")
    lps=$(awk -v n="$LINES" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    note "  $secs s, peak RSS $rss MB, $rows rows"
    ROWS+=("| \`twsla $(args_of "$c")\` | $secs | $rss | $lps | $rows |")
done

REPORT=$BENCH_DIR/results-analyzers-a-$FORMAT-$SIZE.md
{
    echo "## twsla tfidf / anomaly benchmark"
    echo
    echo "- corpus: \`$CORPUS\` ($FORMAT, seed $SEED, $LINES lines, $(du -h "$CORPUS" | cut -f1)); store: \`$STORE\`"
    echo "- twsla at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- one run each, warm page cache; MB = 2^20 bytes"
    echo
    echo "| command | seconds | peak RSS MB | lines/s | rows out |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$REPORT"
note "report saved to $REPORT"
