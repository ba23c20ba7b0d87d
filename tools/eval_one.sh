#!/bin/sh
# shellcheck disable=SC3013  # [ -nt ]: dash, bash and busybox sh have it
# One scenario of make eval (called by tools/eval.sh, EVAL_JOBS of them at a
# time): generate it (unless DIR already holds it with the same gen options)
# and run the packet, flow and m4 backends on it; then packet once more on a
# copy whose flows start 1-50 ns later each (DIR/jitter-input, drawn from the
# scenario's seed): how far the ground truth itself moves under a perturbation
# far below any round trip, the noise floor of any flow-level estimate
# (DIR/jitter/fct.txt).
#
#   sh tools/eval_one.sh M4SIM OUT NAME TOPO WORKLOAD CC LOAD SIGMA FLOWS SEED
#                                                         (EVAL_MODEL=file)
#
# Resume: packet and flow are skipped when DIR/BACKEND/fct.txt is newer than
# DIR/flows.txt and DIR/BACKEND.time exists; m4 always runs (the model changes).
# A backend that fails (m4 without a default model, say) leaves no
# BACKEND.time, and the table shows n/a for it.
# DIR/BACKEND.time: wall_s (whole process), cpu_s (user + system), peak_rss_mb.
set -u
if [ $# -ne 10 ]; then
    echo "usage: eval_one.sh M4SIM OUT NAME TOPO WORKLOAD CC LOAD SIGMA FLOWS SEED" >&2
    exit 2
fi
M4SIM=$1 OUT=$2 name=$3 topo=$4 workload=$5 cc=$6 load=$7 sigma=$8 flows=$9
seed=${10}
dir="$OUT/$name"
log() { echo "eval: $(date +%H:%M:%S) $name: $*" >&2; }

gen_args="--topo $topo --workload $workload --cc $cc --load $load --sigma $sigma --flows $flows --seed $seed"
if [ ! -f "$dir/flows.txt" ] || [ "$(cat "$dir/gen.args" 2>/dev/null)" != "$gen_args" ]; then
    rm -rf "$dir/packet" "$dir/flow" "$dir/m4" "$dir/jitter" "$dir/jitter-input"
    rm -f "$dir/packet.time" "$dir/flow.time" "$dir/m4.time" "$dir/jitter.time" "$dir/gen.args"
    mkdir -p "$dir" || exit 1
    # shellcheck disable=SC2086  # gen_args is a list of words without spaces inside
    if ! "$M4SIM" gen -o "$dir" $gen_args > "$dir/gen.log" 2>&1; then
        log "gen failed: $(tail -n 1 "$dir/gen.log")"
        exit 0
    fi
    echo "$gen_args" > "$dir/gen.args"
    log "generated: $(cat "$dir/gen.log")"
fi

now() { date +%s.%N; }

# run_backend NAME BACKEND INPUT: results in DIR/NAME, times in DIR/NAME.time
run_backend() {
    b=$1 backend=$2 input=$3
    if [ "$b" != m4 ] && [ -f "$dir/$b.time" ] && [ "$dir/$b/fct.txt" -nt "$dir/flows.txt" ]; then
        log "$b: kept ($(tr '\n' ' ' < "$dir/$b.time"))"
        return 0
    fi
    rm -f "$dir/$b/fct.txt" "$dir/$b/summary.txt" "$dir/$b.time" "$dir/$b.timev"
    set -- run "$input" --backend "$backend" -o "$dir/$b"
    if [ "$b" = m4 ] && [ -n "${EVAL_MODEL:-}" ]; then
        set -- "$@" --model "$EVAL_MODEL"
    fi
    log "$b: running"
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$dir/$b.timev" "$M4SIM" "$@" > "$dir/$b.log" 2>&1
    else
        "$M4SIM" "$@" > "$dir/$b.log" 2>&1
    fi
    rc=$?
    t1=$(now)
    if [ $rc -ne 0 ] || [ ! -f "$dir/$b/fct.txt" ]; then
        log "$b: failed (exit $rc): $(tail -n 1 "$dir/$b.log")"
        return 0
    fi
    wall=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
    cpu=n/a
    rss=$(sed -n 's/^peak_rss_mb //p' "$dir/$b/summary.txt" 2>/dev/null)
    if [ -f "$dir/$b.timev" ]; then
        cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 }
                          END { printf "%.3f", s }' "$dir/$b.timev")
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$dir/$b.timev")
        [ -n "$kb" ] && rss=$(echo "$kb" | awk '{ printf "%.1f", $1 / 1024 }')
    fi
    printf 'wall_s %s\ncpu_s %s\npeak_rss_mb %s\n' "$wall" "$cpu" "${rss:-n/a}" > "$dir/$b.time.tmp"
    mv "$dir/$b.time.tmp" "$dir/$b.time"
    log "$b: done, ${wall} s wall, ${cpu} s cpu, ${rss:-n/a} MB peak RSS"
}

for b in packet flow m4; do
    run_backend "$b" "$b" "$dir"
done

# The jittered copy: same topology and configuration, each start 1-50 ns
# later (mawk's or gawk's rand, seeded by the scenario's seed).
if [ ! -f "$dir/jitter-input/flows.txt" ] || [ "$dir/flows.txt" -nt "$dir/jitter-input/flows.txt" ]; then
    rm -rf "$dir/jitter-input" "$dir/jitter" "$dir/jitter.time"
    mkdir -p "$dir/jitter-input" || exit 1
    cp "$dir/topology.txt" "$dir/config.txt" "$dir/jitter-input/" || exit 1
    awk -v seed="$seed" 'BEGIN { srand(seed) }
        NR > 1 && NF >= 7 { $7 = sprintf("%.9f", $7 + (1 + int(rand() * 50)) * 1e-9) }
        { print }' "$dir/flows.txt" > "$dir/jitter-input/flows.tmp" &&
        mv "$dir/jitter-input/flows.tmp" "$dir/jitter-input/flows.txt" || exit 1
fi
run_backend jitter packet "$dir/jitter-input"
exit 0
