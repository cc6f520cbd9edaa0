#!/usr/bin/env bash
# The main job on the bundled sample: build, import samples/mixed.log into a fresh store,
# verify it, and run a few searches. Usage: bash tools/demo.sh [store-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p twsla
twsla=./target/release/twsla
store=${1:-$(mktemp -d)/twsla.db}
echo "# store: $store"
echo "# twsla import samples/mixed.log"
"$twsla" -d "$store" import samples/mixed.log
echo "# twsla verify"
"$twsla" -d "$store" verify
echo "# twsla search -f 'Failed password' | head -5"
"$twsla" -d "$store" search -f 'Failed password' | head -5
echo "# twsla search --ndjson --utc --limit 3"
"$twsla" -d "$store" --utc search --ndjson --limit 3
echo "# twsla import samples/mixed.log   (again: nothing new)"
"$twsla" -d "$store" import samples/mixed.log
