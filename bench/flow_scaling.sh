#!/bin/sh
# Flow backend speed and memory on a 1024-host fabric (8 pods x 8 racks x 16
# hosts) with WebSearch flows at 50% load, at 10k, 100k and 1M flows
# (BENCH_FLOWS="..." to change). Wall time of the whole `m4sim run`
# (loading included) and its peak RSS come from /usr/bin/time when present,
# otherwise from the run's own summary.txt (simulation wall time, VmHWM);
# cpu_s is the user CPU time (the figure to trust on a shared machine).
# Target: 100k flows under 10 s and 500 MB on one core.
set -u
M4SIM=${1:-build/m4sim}
OUT=${BENCH_OUT:-$(dirname "$M4SIM")/bench}
FLOWS=${BENCH_FLOWS:-10000 100000 1000000}
TOPO="fabric:pods=8,racks=8,hosts=16"
mkdir -p "$OUT" || exit 1

row() { printf '%-9s %8s %8s %8s %11s %12s %10s %10s\n' "$@"; }
row flows gen_s run_s cpu_s sim_wall_s peak_rss_mb slow_mean slow_p99
for n in $FLOWS; do
    dir="$OUT/fabric1024-websearch-$n"
    if [ ! -f "$dir/flows.txt" ]; then
        t0=$(date +%s.%N)
        if ! "$M4SIM" gen -o "$dir" --topo "$TOPO" --workload websearch --load 0.5 --sigma 1 \
            --flows "$n" --seed 1 >"$OUT/gen.log" 2>&1; then
            if grep -q "not built" "$OUT/gen.log"; then
                echo "(skipped: m4sim gen is not built)"
                exit 0
            fi
            cat "$OUT/gen.log" >&2
            echo "bench: gen failed for $n flows" >&2
            exit 1
        fi
        t1=$(date +%s.%N)
        gen_s=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
    else
        gen_s="cached"
    fi
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$M4SIM" run "$dir" --backend flow --quiet 2>"$dir/time.txt" >/dev/null ||
            { cat "$dir/time.txt" >&2; exit 1; }
        run_s=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt" |
            awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt" |
            awk '{printf "%.1f", $1 / 1024}')
        cpu_s=$(sed -n 's/.*User time (seconds): //p' "$dir/time.txt")
    else
        cpu_s="-"
        "$M4SIM" run "$dir" --backend flow --quiet >/dev/null || exit 1
        run_s="-"
        rss=$(sed -n 's/^peak_rss_mb //p' "$dir/flow/summary.txt")
    fi
    sim_s=$(sed -n 's/^wall_s //p' "$dir/flow/summary.txt")
    mean=$(sed -n 's/^slowdown_mean //p' "$dir/flow/summary.txt")
    p99=$(sed -n 's/^slowdown_p99 //p' "$dir/flow/summary.txt")
    row "$n" "$gen_s" "$run_s" "$cpu_s" "$sim_s" "$rss" "$mean" "$p99"
done
