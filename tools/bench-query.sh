#!/usr/bin/env bash
# Query benchmark for twsla against ripgrep on the same corpus, in the same run.
#
# Uses the corpus of tools/bench-import.sh (generated if missing), imports it once into a
# store, then times each pair (twsla vs the rg baseline) RUNS times, warm cache, both
# writing their results to a regular file (rg skips work when it writes to /dev/null; a pipe
# into `wc -l` would add the same few milliseconds to both); lines are counted afterwards.
# Prints a Markdown table with medians, ratios, peak RSS and whether the issue's goal is met.
#
# Environment: SIZE (1G), RUNS (5), SEED (1), TWSLA_BENCH_DIR (/tmp/twsla-bench), BUILD (1).
# Needs: ripgrep (rg), GNU time (/usr/bin/time), coreutils (sort, uniq, wc).
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
DIR=${TWSLA_BENCH_DIR:-/tmp/twsla-bench}
BUILD=${BUILD:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
command -v rg >/dev/null || { echo "bench-query: ripgrep (rg) is required" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-query: GNU time (/usr/bin/time) is required" >&2; exit 1; }
mkdir -p "$DIR"
if [ "$BUILD" = 1 ]; then (cd "$ROOT" && cargo build --release -q -p twsla -p gen-logs); fi
TWSLA=$TARGET/release/twsla
FILE=$DIR/syslog-$SIZE-seed$SEED.log
if [ ! -f "$FILE" ]; then
  "$TARGET/release/gen-logs" --format syslog --size "$SIZE" --seed "$SEED" --out "$FILE.tmp"
  mv "$FILE.tmp" "$FILE"
fi
STORE=$DIR/query-store-$SIZE-seed$SEED
# Re-import when the corpus or the binary is newer than the store (a new build may write a
# new format version; measuring it on an old store would measure the old format).
if [ ! -f "$STORE/MANIFEST" ] || [ "$FILE" -nt "$STORE/MANIFEST" ] || [ "$TWSLA" -nt "$STORE/MANIFEST" ]; then
  rm -rf "$STORE"
  "$TWSLA" -d "$STORE" import -q "$FILE"
fi
cat "$FILE" > /dev/null
# A one-hour slice in the middle of the corpus (gen-logs starts 2026-10-01, 30 days).
HOUR_T='2026/10/15 10:00,59m59s'
HOUR_RE='^Oct 15 10:'
REGEX='Failed password for [a-z]+ from'
IP_RE='[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}'

# run LABEL CMD... -> prints "median_seconds peak_rss_mb output_lines"
measure() {
  local times=() rss=0 lines=0 t0 t1 out m
  for _ in $(seq "$RUNS"); do
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$DIR/.rss" bash -c "$1" > "$DIR/.out" 2>/dev/null || true
    t1=$EPOCHREALTIME
    lines=$(wc -l < "$DIR/.out")
    m=$(cat "$DIR/.rss")
    [ "$m" -gt "$rss" ] && rss=$m
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}')")
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%s %s %s\n' "$med" "$((rss / 1024))" "$lines"
}

row() { # name twsla-cmd baseline-cmd goal-ratio
  local tw bl
  tw=$(measure "$2")
  bl=$(measure "$3")
  read -r ts trss tl <<<"$tw"
  read -r bs brss bll <<<"$bl"
  local ratio
  ratio=$(awk -v a="$bs" -v b="$ts" 'BEGIN{printf "%.6f", a/b}')
  local met=no
  if awk -v r="$ratio" -v g="$4" 'BEGIN{exit !(r >= g)}'; then met=yes; fi
  printf '| %s | %.3f | %.3f | %.1f× (goal ≥ %s×) | %s | %s / %s | %s / %s |\n' \
    "$1" "$ts" "$bs" "$ratio" "$4" "$met" "$trss" "$brss" "$tl" "$bll"
}

echo "## twsla query benchmark ($SIZE syslog, $(wc -l < "$FILE") lines, $(nproc) CPUs, median of $RUNS)"
echo
echo "| query | twsla s | baseline s | speed-up | met | peak RSS MB twsla / base | output lines twsla / base |"
echo "|---|---:|---:|---:|---|---:|---:|"
row "selective search (token in 0.05% of lines) vs \`rg TOKEN\`" \
  "$TWSLA -d $STORE search XYZZYFAIL" "rg XYZZYFAIL $FILE" 5
row "one-hour \`-t\` slice vs \`rg '$HOUR_RE'\`" \
  "$TWSLA -d $STORE --utc -t '$HOUR_T' search" "rg '$HOUR_RE' $FILE" 20
row "full regex scan vs \`rg REGEX\` (goal: no slower than 1.5×)" \
  "$TWSLA -d $STORE search -r '$REGEX'" "rg '$REGEX' $FILE" 0.6667
row "count by hour vs \`rg -c .\`" \
  "$TWSLA -d $STORE count" "rg -c . $FILE" 10
row "count -e ip vs \`rg -o IP | sort | uniq -c\`" \
  "$TWSLA -d $STORE count -e ip" "rg -o '$IP_RE' $FILE | sort | uniq -c" 2
