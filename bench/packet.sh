#!/bin/sh
# Packet backend speed and memory: (a) the 32-host m4 training fabric with the
# ns-3 reference's 2000 WebSearch flows at 50% load (DCTCP; the ns-3 fork took
# 43.8 s on it), (b) a 1024-host fabric (8 pods x 8 racks x 16 hosts) with
# 20,000 WebSearch flows at 50% load. Prints wall time, peak RSS and events/s
# (the event count comes from the backend's log line "packet: N events ...").
# Target: 10M events/s on one core; memory ~ links + packets in flight.
set -u
M4SIM=${1:-build/m4sim}
OUT=${BENCH_OUT:-$(dirname "$M4SIM")/bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT" || exit 1

row() { printf '%-22s %8s %8s %8s %12s %12s %14s\n' "$@"; }
row scenario flows run_s cpu_s peak_rss_mb events events_per_cpu_s

run_one() { # name dir [extra run options]
    name=$1 dir=$2
    shift 2
    cpu_s="-"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$M4SIM" run "$dir" --backend packet "$@" >"$dir/packet_stdout.txt" 2>"$dir/packet_time.txt" ||
            { tail -5 "$dir/packet_time.txt" >&2; return 1; }
        run_s=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/packet_time.txt" |
            awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/packet_time.txt" |
            awk '{printf "%.1f", $1 / 1024}')
        cpu_s=$(sed -n 's/.*User time (seconds): //p' "$dir/packet_time.txt")
    else
        t0=$(date +%s.%N)
        "$M4SIM" run "$dir" --backend packet "$@" >"$dir/packet_stdout.txt" 2>"$dir/packet_time.txt" || return 1
        t1=$(date +%s.%N)
        run_s=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
        rss="-"
    fi
    events=$(sed -n 's/.*packet: \([0-9]*\) events.*/\1/p' "$dir/packet_time.txt" "$dir/packet_stdout.txt" | head -n 1)
    [ -n "$events" ] || events="-"
    t=$cpu_s
    [ "$t" = "-" ] && t=$run_s
    eps=$(echo "$events $t" | awk '$1 != "-" && $2 > 0 {printf "%.2fM", $1 / $2 / 1e6; next} {print "-"}')
    flows=$(head -n 1 "$dir/flows.txt")
    row "$name" "$flows" "$run_s" "$cpu_s" "$rss" "$events" "$eps"
    last_cpu_s=$t
}

gen_once() { # dir gen options...
    dir=$1
    shift
    [ -f "$dir/flows.txt" ] && return 0
    "$M4SIM" gen -o "$dir" "$@" >/dev/null || { echo "bench: gen failed for $dir" >&2; exit 1; }
}

a="$OUT/packet-medium-websearch"
mkdir -p "$a"
cp "$ROOT/tests/data/ns3-reference/medium/topology.txt" "$ROOT/tests/data/ns3-reference/medium/flows.txt" "$a/"
printf 'CC dctcp\n' >"$a/config.txt"
run_one fabric32-2000 "$a" || exit 1

b="$OUT/packet-fabric1024-websearch-20000"
gen_once "$b" --topo "fabric:pods=8,racks=8,hosts=16" --workload websearch --load 0.5 --sigma 1 --flows 20000 --seed 1
run_one fabric1024-20000 "$b" || exit 1

c="$OUT/packet-fabric32-websearch-20000"
gen_once "$c" --topo "fabric:pods=2,racks=4,hosts=4" --workload websearch --load 0.5 --sigma 1 --flows 20000 --seed 1
run_one fabric32-20000 "$c" || exit 1

run_one fabric32-2000-trace "$a" --trace -o "$a/packet-trace" || exit 1
echo "$last_cpu_s" | awk '{printf "projected ground truth of 2000 such scenarios (with --trace) on 2 cores: %.0f s = %.2f h\n", 2000 * $1 / 2, 2000 * $1 / 2 / 3600}'
