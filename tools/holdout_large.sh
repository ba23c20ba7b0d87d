#!/bin/sh
# Model selection at the scale of make eval's full runs, never on its set:
# four 10,000-flow (HOLDOUT_LARGE_FLOWS) scenarios on the 256-host fabric with the training
# set's workloads (websearch, fbhdp, alistorage; none of eval's webserver,
# hadoop, cachefollower), seeds 7001-7004 (eval uses 9001+, training 1),
# one per CC. Runs packet and flow once, then each model through the m4
# backend, and prints per model the mean over the scenarios of m4's mean
# and p90 per-flow slowdown error, their ratios to the flow backend's,
# m4's CPU seconds, and how many flows m4 puts more than 3x off the packet
# slowdown (either way; a count of pathologies the means can hide). tools/holdout.sh does the same at training scale.
#
#   sh tools/holdout_large.sh BUILD/m4sim MODEL...
#     HOLDOUT_LARGE_DIR=dir   scenarios and runs (default build/holdout-large,
#                             build/holdout-large-N for other flow counts N:
#                             scenarios already drawn there are reused)
#     HOLDOUT_LARGE_FLOWS=n   flows per scenario (default 10000; 20000 is the
#                             full eval's length, where the largest flows live
#                             through up to about 19,000 events)
#
# Packet and flow results are kept between calls; m4 reruns per model.
set -u
M4SIM=${1:?usage: holdout_large.sh M4SIM MODEL...}
shift
FLOWS=${HOLDOUT_LARGE_FLOWS:-10000}
if [ "$FLOWS" = 10000 ]; then
    DIR=${HOLDOUT_LARGE_DIR:-build/holdout-large}
else
    DIR=${HOLDOUT_LARGE_DIR:-build/holdout-large-$FLOWS}
fi
[ $# -ge 1 ] || { echo "holdout_large: name at least one model file" >&2; exit 2; }
mkdir -p "$DIR" || exit 1
TOPO="fabric:pods=4,racks=4,hosts=16"
# name workload cc load sigma seed
SCENARIOS="
l1-websearch-dctcp   websearch  dctcp  0.6 1.5 7001
l2-fbhdp-dcqcn       fbhdp      dcqcn  0.7 1   7002
l3-alistorage-hpcc   alistorage hpcc   0.6 2   7003
l4-websearch-timely  websearch  timely 0.5 1   7004
"

# shellcheck source=tools/holdout_lib.sh
. "$(dirname "$0")/holdout_lib.sh"

echo "$SCENARIOS" | while read -r name workload cc load sigma seed; do
    [ -n "$name" ] || continue
    s="$DIR/$name"
    if [ ! -f "$s/flows.txt" ]; then
        "$M4SIM" gen -o "$s" --topo "$TOPO" --workload "$workload" --cc "$cc" --load "$load" \
            --sigma "$sigma" --flows "$FLOWS" --seed "$seed" >/dev/null || exit 1
    fi
    for b in packet flow; do
        [ -f "$s/$b/fct.txt" ] || "$M4SIM" run "$s" --backend "$b" --quiet -o "$s/$b" || exit 1
    done
done || exit 1

flow_sum=$(for s in "$DIR"/l*/; do
    echo "$(errors "${s%/}" "${s%/}/flow/fct.txt") $(far_off "${s%/}" "${s%/}/flow/fct.txt")"
done | awk '{ m += $1; p += $2; x += $3; n++ } END { printf "%.4f %.4f %d %d", m / n, p / n, n, x }')
printf '%-40s %9s %9s %9s %9s %8s %6s\n' model mean_err p90_err mean_ratio p90_ratio m4_cpu_s off3x
echo "$flow_sum" | awk '{ printf "%-40s %9.4f %9.4f %9s %9s %8s %6d   (%d scenarios)\n", "flow", $1, $2, "-", "-", "-", $4, $3 }'
i=0
for model in "$@"; do
    i=$((i + 1))
    tag="m4-$i-$(basename "$model")"
    for s in "$DIR"/l*/; do
        s=${s%/}
        /usr/bin/time -f "%U" -o "$s/$tag.cpu" "$M4SIM" run "$s" --backend m4 --model "$model" \
            --quiet -o "$s/$tag" || exit 1
        echo "$(errors "$s" "$s/$tag/fct.txt") $(cat "$s/$tag.cpu") $(far_off "$s" "$s/$tag/fct.txt")"
    done | awk -v flow="$flow_sum" -v name="$model" '{ m += $1; p += $2; c += $3; x += $4; n++ }
        END { split(flow, f, " "); printf "%-40s %9.4f %9.4f %9.3f %9.3f %8.2f %6d\n", name, m / n,
              p / n, (m / n) / f[1], (p / n) / f[2], c, x }'
done
