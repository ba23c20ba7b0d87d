#!/bin/sh
# make bench: run every bench/*.sh part (each takes the m4sim binary path and
# prints its own table). BENCH_OUT=dir keeps the generated scenarios
# (default: BUILD/bench).
set -u
M4SIM=${1:-build/m4sim}
export BENCH_OUT="${BENCH_OUT:-$(dirname "$M4SIM")/bench}"
mkdir -p "$BENCH_OUT" || exit 1
status=0
for part in "$(dirname "$0")"/*.sh; do
    [ "$(basename "$part")" = run.sh ] && continue
    echo "== $(basename "$part")"
    sh "$part" "$M4SIM" || status=1
done
exit $status
