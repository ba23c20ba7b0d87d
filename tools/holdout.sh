#!/bin/sh
# Model selection on held-out training-like scenarios, never on make eval's
# set: draw scenarios as `m4sim dataset` does but with another seed (so none
# is in the training data), run packet and flow once, then each model
# closed-loop through the m4 backend, and print per model the mean over the
# scenarios of m4's mean and p90 per-flow slowdown error, and their ratios
# to the flow backend's. Used to choose make model's --shrink.
#
#   sh tools/holdout.sh BUILD/m4sim MODEL...
#     HOLDOUT_DIR=dir        scenarios and runs (default build/holdout)
#     HOLDOUT_SCENARIOS=n    how many (default 12)
#     HOLDOUT_SEED=s         dataset seed (default 2; training uses 1)
#     HOLDOUT_FLOWS=f        flows per scenario (default 2000, as training's)
#
# Packet and flow results are kept between calls; m4 reruns per model.
set -u
M4SIM=${1:?usage: holdout.sh M4SIM MODEL...}
shift
DIR=${HOLDOUT_DIR:-build/holdout}
N=${HOLDOUT_SCENARIOS:-12}
SEED=${HOLDOUT_SEED:-2}
FLOWS=${HOLDOUT_FLOWS:-2000}
[ $# -ge 1 ] || { echo "holdout: name at least one model file" >&2; exit 2; }
"$M4SIM" dataset -o "$DIR" --scenarios "$N" --flows "$FLOWS" --jobs 2 --seed "$SEED" >/dev/null \
    || exit 1

# shellcheck source=tools/holdout_lib.sh
. "$(dirname "$0")/holdout_lib.sh"

flow_sum=$(for s in "$DIR"/s*/; do
    s=${s%/}
    [ -f "$s/flow/fct.txt" ] || "$M4SIM" run "$s" --backend flow --quiet -o "$s/flow" || exit 1
    echo "$(errors "$s" "$s/flow/fct.txt") $(far_off "$s" "$s/flow/fct.txt")"
done | awk '{ m += $1; p += $2; x += $3; n++ } END { printf "%.4f %.4f %d %d", m / n, p / n, n, x }')
printf '%-40s %9s %9s %9s %9s %6s\n' model mean_err p90_err mean_ratio p90_ratio off3x
echo "$flow_sum" | awk '{ printf "%-40s %9.4f %9.4f %9s %9s %6d   (%d scenarios)\n", "flow", $1, $2, "-", "-", $4, $3 }'
for model in "$@"; do
    tag=$(basename "$model")
    for s in "$DIR"/s*/; do
        s=${s%/}
        "$M4SIM" run "$s" --backend m4 --model "$model" --quiet -o "$s/m4-$tag" || exit 1
        echo "$(errors "$s" "$s/m4-$tag/fct.txt") $(far_off "$s" "$s/m4-$tag/fct.txt")"
    done | awk -v flow="$flow_sum" -v name="$model" '{ m += $1; p += $2; x += $3; n++ }
        END { split(flow, f, " "); printf "%-40s %9.4f %9.4f %9.3f %9.3f %6d\n", name, m / n, p / n,
              (m / n) / f[1], (p / n) / f[2], x }'
done
