#!/usr/bin/env bash
# Benchmark of the delay, heatmap, time and relation analyzers.
#
# Generates (once) a deterministic syslog corpus with tools/gen-logs, with a fraction of
# out-of-order lines so that `delay` has work (--unsorted), imports it once into a store,
# then times each analyzer RUNS times with a warm cache, writing NDJSON to a regular file,
# and prints a Markdown table: median wall time, lines/s (corpus lines / time), peak RSS
# (maximum over the runs) and output rows. `search` (every line) is the reference for the
# cost of a full decode.
#
# Environment:
#   LINES=1M           corpus size in lines: 1M or 10M (any N, NK, NM; about 107 bytes/line)
#   RUNS=3             runs per command; the median wall time is reported
#   SEED=1             gen-logs seed
#   UNSORTED=0.01      fraction of lines moved back in time (gen-logs --unsorted)
#   TWSLA_BENCH_DIR    where corpora, stores and results go (default /tmp/twsla-bench-b;
#                      never inside the repository)
#   BUILD=1            0 = skip `cargo build --release` and use existing binaries
#   TWSLA, GEN_LOGS    binaries (default $CARGO_TARGET_DIR or <repo>/target, release/)
#
# Needs: bash >= 5, GNU time at /usr/bin/time (Debian package `time`), coreutils, awk.
# Units: MB = 2^20 bytes.
set -euo pipefail
export LC_ALL=C

die() {
    printf 'bench-analyzers-b: %s\n' "$*" >&2
    exit 1
}
note() { printf '>> %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LINES=${LINES:-1M}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
UNSORTED=${UNSORTED:-0.01}
BENCH_DIR=${TWSLA_BENCH_DIR:-/tmp/twsla-bench-b}
BUILD=${BUILD:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TWSLA=${TWSLA:-$TARGET_DIR/release/twsla}
GEN_LOGS=${GEN_LOGS:-$TARGET_DIR/release/gen-logs}

[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash >= 5 (for \$EPOCHREALTIME)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be an unsigned integer, got '$SEED'"
case $LINES in
*[0-9]M) n_lines=$((${LINES%M} * 1000000)) ;;
*[0-9]K) n_lines=$((${LINES%K} * 1000)) ;;
*[0-9]) n_lines=$LINES ;;
*) die "LINES must look like 1M, 500K or 2000000, got '$LINES'" ;;
esac
[[ $n_lines =~ ^[0-9]+$ && $n_lines -gt 0 ]] || die "LINES must be positive, got '$LINES'"
/usr/bin/time -f '%M' -o /dev/null true 2>/dev/null ||
    die "GNU time not found at /usr/bin/time: install it with 'apt-get install time'"

BENCH_DIR=$(realpath -m -- "$BENCH_DIR")
case "$BENCH_DIR/" in
"$(realpath -- "$ROOT")"/*) die "TWSLA_BENCH_DIR ($BENCH_DIR) is inside the repository" ;;
esac
mkdir -p "$BENCH_DIR"

if [[ $BUILD != 0 ]]; then
    note "building release binaries (cargo build --release -p twsla -p gen-logs)"
    (cd "$ROOT" && cargo build --release -q -p twsla -p gen-logs)
fi
[[ -x $TWSLA ]] || die "twsla binary not found at $TWSLA"
[[ -x $GEN_LOGS ]] || die "gen-logs binary not found at $GEN_LOGS"

# About 107 bytes per syslog line; gen-logs stops after the record that reaches the size.
CORPUS=$BENCH_DIR/syslog-$LINES-seed$SEED-unsorted$UNSORTED.log
if [[ ! -s $CORPUS ]]; then
    note "generating $CORPUS"
    "$GEN_LOGS" --format syslog --size $((n_lines * 107)) --seed "$SEED" \
        --unsorted "$UNSORTED" --out "$CORPUS.tmp" 2>"$CORPUS.summary"
    mv "$CORPUS.tmp" "$CORPUS"
fi
CORPUS_LINES=$(wc -l <"$CORPUS")
STORE=$BENCH_DIR/store-$LINES-seed$SEED-unsorted$UNSORTED
if [[ ! -f $STORE/MANIFEST || $CORPUS -nt $STORE/MANIFEST ]]; then
    note "importing into $STORE"
    rm -rf "$STORE"
    "$TWSLA" -d "$STORE" import -q "$CORPUS"
fi
cat "$CORPUS" >/dev/null

# measure CMD... -> "median_seconds peak_rss_kb output_lines"
measure() {
    local times=() rss=0 t0 t1 m
    for ((i = 1; i <= RUNS; i++)); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%M' -o "$BENCH_DIR/.rss" "$@" >"$BENCH_DIR/.out" 2>"$BENCH_DIR/.err" || {
            # Exit 1 means "no rows"; anything else is a failure.
            [[ $? == 1 ]] || { cat "$BENCH_DIR/.err" >&2; die "failed: $*"; }
        }
        t1=$EPOCHREALTIME
        m=$(tail -1 "$BENCH_DIR/.rss")
        ((m > rss)) && rss=$m
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")
    done
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -g | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
    printf '%s %s %s\n' "$med" "$rss" "$(wc -l <"$BENCH_DIR/.out")"
}

T=("$TWSLA" -d "$STORE")
declare -a LABELS=() CMDS=()
add() {
    LABELS+=("$1")
    shift
    CMDS+=("$(printf '%q ' "$@")")
}
add "search (reference: every line)" "${T[@]}" search --ndjson
add "delay (mode A, backward steps)" "${T[@]}" delay --ndjson
add "delay -q 1 (mode B, sorted by delay)" "${T[@]}" delay --ndjson -q 1
add "delay -q 1 --sort time (mode B, streamed)" "${T[@]}" delay --ndjson -q 1 --sort time
add "heatmap (index only)" "${T[@]}" heatmap --ndjson
add "heatmap -w sshd (filtered)" "${T[@]}" heatmap --ndjson -w sshd
add "time (every line)" "${T[@]}" time --ndjson
add "time sshd" "${T[@]}" time --ndjson sshd
add "relation ip mac" "${T[@]}" relation --ndjson ip mac
add "relation regex/for (invalid user )?\\S+/ ip 'Failed password'" "${T[@]}" relation --ndjson \
    'regex/for (invalid user )?\S+/' ip 'Failed password'

REPORT=$BENCH_DIR/results-analyzers-b-$LINES.md
{
    echo "## twsla delay/heatmap/time/relation benchmark"
    echo
    echo "- corpus: \`$CORPUS\`: $CORPUS_LINES lines, $(($(stat -c %s "$CORPUS") / 1048576)) MB (gen-logs syslog, seed $SEED, --unsorted $UNSORTED)"
    echo "- twsla at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- median of $RUNS runs, warm cache, NDJSON written to a file; peak RSS = max over runs"
    echo
    echo "| command | seconds | lines/s | peak RSS MB | output rows |"
    echo "|---|---:|---:|---:|---:|"
    for i in "${!LABELS[@]}"; do
        note "${LABELS[$i]}"
        read -r secs rss rows < <(eval "measure ${CMDS[$i]}")
        printf '| `%s` | %.3f | %s | %.1f | %s |\n' "${LABELS[$i]//|/\\|}" "$secs" \
            "$(awk -v n="$CORPUS_LINES" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')" \
            "$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')" "$rows"
    done
} | tee "$REPORT"
note "report saved to $REPORT"
