#!/usr/bin/env bash
# Import benchmark for twsla.
#
# Builds the release binaries, generates (once) a deterministic corpus with
# tools/gen-logs plus a gzipped copy, then in one run times the baselines
# (wc -l, zcat | wc -l, rg -c .) and `twsla import` of the plain and the
# gzipped file into fresh stores, and prints a Markdown report with the
# issue's goals marked met / not met.
#
# Environment:
#   SIZE=1G            corpus size (gen-logs --size syntax: 500M, 1G, ...)
#   RUNS=3             runs per command; the median wall time is reported
#   FORMAT=syslog      gen-logs format: syslog | apache | jsonl | mixed
#   SEED=1             gen-logs seed
#   TWSLA_BENCH_DIR    where corpora, stores and results go
#                      (default /tmp/twsla-bench; never inside the repository)
#   BUILD=1            0 = skip `cargo build` and use existing binaries
#   TWSLA, GEN_LOGS    binaries to use (default: $CARGO_TARGET_DIR or
#                      <repo>/target, then release/twsla, release/gen-logs)
#   KEEP_STORES=0      1 = keep the imported stores for inspection
#   STRICT=0           1 = exit with status 3 when a goal is not met
#
# Needs: bash >= 5, GNU time at /usr/bin/time (Debian package `time`), gzip,
# coreutils, awk; optional: ripgrep (`rg`, Debian package `ripgrep`) for the
# rg baseline, pigz for faster corpus compression.
#
# Units: MB = MiB = 2^20 bytes, for sizes, throughput and RSS alike. The
# throughput of the gzip commands is computed on the *uncompressed* size.
# Wall time is measured with bash's $EPOCHREALTIME around GNU time (whose own
# %e has only 10 ms resolution); peak RSS is GNU time's %M.

set -euo pipefail
export LC_ALL=C

die() {
    printf 'bench-import: %s\n' "$*" >&2
    exit 1
}
note() { printf '>> %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
FORMAT=${FORMAT:-syslog}
SEED=${SEED:-1}
BENCH_DIR=${TWSLA_BENCH_DIR:-/tmp/twsla-bench}
BUILD=${BUILD:-1}
KEEP_STORES=${KEEP_STORES:-0}
STRICT=${STRICT:-0}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TWSLA=${TWSLA:-$TARGET_DIR/release/twsla}
GEN_LOGS=${GEN_LOGS:-$TARGET_DIR/release/gen-logs}

# Goals from the issue.
GOAL_IMPORT_MBS=150   # plain import throughput, MB/s
GOAL_GZ_SLACK=1.20    # gzip import time <= 1.2 x max(zcat | wc -l, plain import)
GOAL_RSS_MB=512       # peak RSS of an import
GOAL_STORE_RATIO=0.6  # store size / raw size

# ---------------------------------------------------------------- checks
[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash >= 5 (for \$EPOCHREALTIME)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be an unsigned integer, got '$SEED'"
[[ $SIZE =~ ^[0-9.]+[KMGTkmgt]?(i?B)?$ ]] || die "SIZE must look like 500M or 1G, got '$SIZE'"
case $FORMAT in
syslog | apache | jsonl | mixed) ;;
*) die "FORMAT must be syslog, apache, jsonl or mixed, got '$FORMAT'" ;;
esac
if ! /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
    die "GNU time not found at /usr/bin/time: install it with 'apt-get install time'"
fi
for tool in gzip zcat wc du awk sort cat sync stat; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done
HAVE_RG=0
if command -v rg >/dev/null; then
    HAVE_RG=1
else
    note "ripgrep (rg) not found: skipping the rg baseline (apt-get install ripgrep)"
fi

BENCH_DIR=$(realpath -m -- "$BENCH_DIR")
ROOT_REAL=$(realpath -- "$ROOT")
case "$BENCH_DIR/" in
"$ROOT_REAL"/*) die "TWSLA_BENCH_DIR ($BENCH_DIR) is inside the repository; use a directory outside it" ;;
esac
mkdir -p "$BENCH_DIR"

# ---------------------------------------------------------------- build
if [[ $BUILD != 0 ]]; then
    note "building release binaries (cargo build --release -p twsla -p gen-logs)"
    (cd "$ROOT" && cargo build --release -p twsla -p gen-logs)
fi
[[ -x $TWSLA ]] || die "twsla binary not found at $TWSLA (build it, or set TWSLA=...)"
[[ -x $GEN_LOGS ]] || die "gen-logs binary not found at $GEN_LOGS (build it, or set GEN_LOGS=...)"

# ---------------------------------------------------------------- corpus
CORPUS=$BENCH_DIR/$FORMAT-$SIZE-seed$SEED.log
GZ=$CORPUS.gz
if [[ ! -s $CORPUS ]]; then
    avail_kb=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
    note "generating $CORPUS (free space in $BENCH_DIR: $((avail_kb / 1024)) MB)"
    "$GEN_LOGS" --format "$FORMAT" --size "$SIZE" --seed "$SEED" --out "$CORPUS.tmp" \
        2>"$CORPUS.summary.tmp" || die "gen-logs failed: $(cat "$CORPUS.summary.tmp")"
    mv "$CORPUS.summary.tmp" "$CORPUS.summary"
    mv "$CORPUS.tmp" "$CORPUS"
    rm -f "$GZ"
fi
if [[ ! -s $GZ || $GZ -ot $CORPUS ]]; then
    if command -v pigz >/dev/null; then gz=(pigz -1 -c); else gz=(gzip -1 -c); fi
    note "compressing with ${gz[*]} -> $GZ"
    "${gz[@]}" "$CORPUS" >"$GZ.tmp"
    mv "$GZ.tmp" "$GZ"
fi
RAW_BYTES=$(stat -c %s "$CORPUS")
GZ_BYTES=$(stat -c %s "$GZ")
avail_kb=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
if ((avail_kb * 1024 < 2 * RAW_BYTES)); then
    note "warning: only $((avail_kb / 1024)) MB free in $BENCH_DIR; two stores may not fit"
fi

# ---------------------------------------------------------------- timing
WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

declare -A SECS=() RSS=() OUTPUT=() STORE_BYTES=() SHOWN=()
ORDER=()

# bench LABEL PREP POST CMD... : run CMD $RUNS times with a warm page cache.
# PREP (before each run, untimed) and POST (after each run, untimed) are
# function names or ':'; POST gets the run number. Records the median wall
# time, the maximum peak RSS over the runs and the command's stdout.
bench() {
    local label=$1 prep=$2 post=$3
    shift 3
    local -a times=()
    local rss_max=0 i t0 t1 rss
    note "$label ($RUNS runs)"
    for ((i = 1; i <= RUNS; i++)); do
        cat "$CORPUS" >/dev/null
        if [[ $label == *gzip* || $label == *zcat* ]]; then cat "$GZ" >/dev/null; fi
        "$prep"
        t0=$EPOCHREALTIME
        if ! /usr/bin/time -o "$WORK/time" -f '%e %M' "$@" >"$WORK/out" 2>"$WORK/err"; then
            cat "$WORK/err" >&2
            cat "$WORK/time" >&2 || true
            die "command failed: $*"
        fi
        t1=$EPOCHREALTIME
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")
        rss=$(awk 'END { print $NF }' "$WORK/time")
        if ((rss > rss_max)); then rss_max=$rss; fi
        "$post" "$i"
    done
    SECS[$label]=$(printf '%s\n' "${times[@]}" | sort -g | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
    RSS[$label]=$rss_max
    OUTPUT[$label]=$(tr -d ' \n' <"$WORK/out" | cut -c1-60)
    ORDER+=("$label")
    note "  runs: ${times[*]} s -> median ${SECS[$label]} s, peak RSS $((rss_max / 1024)) MB"
}

STORE=
fresh_store() {
    rm -rf "$STORE"
    sync
}
verify_store() {
    if ! "$TWSLA" verify -d "$STORE" >"$WORK/verify" 2>&1; then
        cat "$WORK/verify" >&2
        die "VERIFY FAILED: twsla verify -d $STORE (run $1, after importing $CORPUS)"
    fi
}

SHOWN=(
    ["wc -l"]="wc -l FILE"
    ["zcat | wc -l"]="zcat FILE.gz | wc -l"
    ["rg -c ."]="rg -c . FILE"
    ["twsla import (plain)"]="twsla import -d STORE FILE"
    ["twsla import (gzip)"]="twsla import -d STORE FILE.gz"
)
bench "wc -l" : : wc -l "$CORPUS"
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
bench "zcat | wc -l" : : bash -o pipefail -c 'zcat -- "$1" | wc -l' zcat-wc "$GZ"
if ((HAVE_RG)); then
    bench "rg -c ." : : rg -c . "$CORPUS"
fi
STORE=$BENCH_DIR/store-plain
bench "twsla import (plain)" fresh_store verify_store "$TWSLA" import -d "$STORE" "$CORPUS"
STORE_BYTES["twsla import (plain)"]=$(du -sb "$STORE" | awk '{ print $1 }')
STORE_PLAIN=$STORE
STORE=$BENCH_DIR/store-gz
bench "twsla import (gzip)" fresh_store verify_store "$TWSLA" import -d "$STORE" "$GZ"
STORE_BYTES["twsla import (gzip)"]=$(du -sb "$STORE" | awk '{ print $1 }')
STORE_GZ=$STORE
if [[ $KEEP_STORES == 0 ]]; then
    rm -rf "$STORE_PLAIN" "$STORE_GZ"
fi

LINES=${OUTPUT["wc -l"]%%[!0-9]*}
[[ -n $LINES && $LINES -gt 0 ]] || die "could not read the line count from wc -l"
[[ ${OUTPUT["zcat | wc -l"]} == "$LINES" ]] || note "warning: zcat | wc -l says ${OUTPUT["zcat | wc -l"]}, wc -l says $LINES"
if ((HAVE_RG)) && [[ ${OUTPUT["rg -c ."]} != "$LINES" ]]; then
    note "warning: rg -c . says ${OUTPUT["rg -c ."]}, wc -l says $LINES"
fi

# ---------------------------------------------------------------- report
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
mbs() { calc '%.1f' "$RAW_BYTES / 1048576 / ${SECS[$1]}"; }
ratio() { calc '%.3f' "${SECS[$2]} / ${SECS[$1]}"; } # throughput of $1 / throughput of $2
yes_no() { if [[ $(calc '%d' "($1) ? 1 : 0") == 1 ]]; then echo met; else echo "**not met**"; fi; }

P=twsla\ import\ \(plain\)
G=twsla\ import\ \(gzip\)
twsla_version=$("$TWSLA" --version 2>/dev/null | head -1 || true)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
REPORT=$BENCH_DIR/results-$FORMAT-$SIZE.md

{
    echo "## twsla import benchmark"
    echo
    echo "- FILE: \`$CORPUS\` ($FORMAT, seed $SEED): $RAW_BYTES bytes ($(calc '%.1f' "$RAW_BYTES / 1048576") MB), $LINES lines; gen-logs summary: $(tail -1 "$CORPUS.summary" 2>/dev/null || echo n/a)"
    echo "- FILE.gz: gzip -1 copy, $GZ_BYTES bytes ($(calc '%.3f' "$GZ_BYTES / $RAW_BYTES") of raw); STORE: a fresh store in \`$BENCH_DIR\` for every run, checked with \`twsla verify\` after every run"
    echo "- twsla: \`$TWSLA\` ${twsla_version:+($twsla_version) }at $git_rev; $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
    echo "- median of $RUNS runs, warm page cache; peak RSS is the maximum over the runs; MB = 2^20 bytes; MB/s of gzip commands counts uncompressed bytes"
    echo
    echo "| command | seconds | MB/s | lines/s | peak RSS MB | store MB | store/raw |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for label in "${ORDER[@]}"; do
        store_mb="" store_ratio=""
        if [[ -n ${STORE_BYTES[$label]:-} ]]; then
            store_mb=$(calc '%.1f' "${STORE_BYTES[$label]} / 1048576")
            store_ratio=$(calc '%.3f' "${STORE_BYTES[$label]} / $RAW_BYTES")
        fi
        shown=${SHOWN[$label]:-$label}
        # shellcheck disable=SC2016 # literal backquotes (Markdown code)
        printf '| `%s` | %.3f | %s | %s | %s | %s | %s |\n' "${shown//|/\\|}" "${SECS[$label]}" \
            "$(mbs "$label")" "$(calc '%.0f' "$LINES / ${SECS[$label]}")" \
            "$(calc '%.1f' "${RSS[$label]} / 1024")" "$store_mb" "$store_ratio"
    done
    echo
    echo "| ratio (throughput) | value |"
    echo "|---|---:|"
    echo "| plain import ÷ \`wc -l\` | $(ratio "$P" "wc -l") |"
    if ((HAVE_RG)); then
        echo "| plain import ÷ \`rg -c .\` | $(ratio "$P" "rg -c .") |"
    fi
    echo "| gzip import ÷ \`zcat \| wc -l\` | $(ratio "$G" "zcat | wc -l") |"
    echo "| gzip import ÷ plain import | $(ratio "$G" "$P") |"
    echo
    slower=$(calc '%.4f' "(${SECS["zcat | wc -l"]} > ${SECS[$P]}) ? ${SECS["zcat | wc -l"]} : ${SECS[$P]}")
    gz_limit=$(calc '%.3f' "$GOAL_GZ_SLACK * $slower")
    ratio_p=$(calc '%.3f' "${STORE_BYTES[$P]} / $RAW_BYTES")
    ratio_g=$(calc '%.3f' "${STORE_BYTES[$G]} / $RAW_BYTES")
    rss_p=$(calc '%.1f' "${RSS[$P]} / 1024")
    rss_g=$(calc '%.1f' "${RSS[$G]} / 1024")
    echo "| goal | target | measured | status |"
    echo "|---|---|---|---|"
    echo "| plain import throughput | ≥ $GOAL_IMPORT_MBS MB/s | $(mbs "$P") MB/s | $(yes_no "$RAW_BYTES / 1048576 / ${SECS[$P]} >= $GOAL_IMPORT_MBS") |"
    echo "| gzip import time | ≤ $GOAL_GZ_SLACK × max(zcat \| wc -l, plain import) = $gz_limit s | $(calc '%.3f' "${SECS[$G]}") s | $(yes_no "${SECS[$G]} <= $gz_limit") |"
    echo "| peak RSS (plain / gzip import) | ≤ $GOAL_RSS_MB MB | $rss_p / $rss_g MB | $(yes_no "$rss_p <= $GOAL_RSS_MB && $rss_g <= $GOAL_RSS_MB") |"
    echo "| store size (plain / gzip import) | ≤ $GOAL_STORE_RATIO × raw | $ratio_p / $ratio_g × raw | $(yes_no "$ratio_p <= $GOAL_STORE_RATIO && $ratio_g <= $GOAL_STORE_RATIO") |"
} | tee "$REPORT"

note "report saved to $REPORT"
if [[ $STRICT != 0 ]] && grep -q 'not met' "$REPORT"; then
    exit 3
fi
