#!/bin/sh
# make demo: generate the built-in default scenario, run it through every
# backend built into this binary (packet, flow, m4; those that answer "not
# built", and m4 while no trained model exists, are skipped), and compare each estimate with the packet-level ground
# truth when it exists (otherwise print the flow backend's slowdown summary).
#
#   sh tools/demo.sh BUILD/m4sim        (DEMO_OUT=dir, default BUILD/demo)
set -u
M4SIM=${1:-build/m4sim}
OUT=${DEMO_OUT:-$(dirname "$M4SIM")/demo}
SCENARIO="$OUT/scenario"
rm -rf "$OUT"
mkdir -p "$OUT" || exit 1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REFERENCE=""
echo "== m4sim gen -o $SCENARIO --seed 1   (the default scenario)"
if ! "$M4SIM" gen -o "$SCENARIO" --seed 1 >"$OUT/gen.log" 2>&1; then
    if grep -q "not built" "$OUT/gen.log"; then
        # Until the generator is built: the m4 training scenario (32 hosts,
        # 2000 WebSearch flows, 50% load) with its ns-3 ground truth.
        echo "  (m4sim gen is not built: using tests/data/ns3-reference/medium instead)"
        mkdir -p "$SCENARIO" || exit 1
        cp "$ROOT/tests/data/ns3-reference/medium/topology.txt" \
            "$ROOT/tests/data/ns3-reference/medium/flows.txt" "$SCENARIO/" || exit 1
        REFERENCE="$ROOT/tests/data/ns3-reference/medium/fct_dctcp.txt"
    else
        cat "$OUT/gen.log" >&2
        echo "demo: m4sim gen failed" >&2
        exit 1
    fi
fi

ran=""
for backend in packet flow m4; do
    echo "== m4sim run $SCENARIO --backend $backend"
    if "$M4SIM" run "$SCENARIO" --backend "$backend" --quiet >"$OUT/$backend.log" 2>&1; then
        ran="$ran $backend"
        sed -n 's/^\(flows\|wall_s\|slowdown_mean\|slowdown_p99\) /  \1 /p' \
            "$SCENARIO/$backend/summary.txt"
    elif grep -q "not built\|no default m4 model" "$OUT/$backend.log"; then
        echo "  (skipped: $(grep "not built\|no default m4 model" "$OUT/$backend.log" | head -n 1))"
    else
        cat "$OUT/$backend.log" >&2
        echo "demo: the $backend backend failed" >&2
        exit 1
    fi
done

has() { case " $ran " in *" $1 "*) return 0 ;; esac; return 1; }

if has packet; then
    for est in flow m4; do
        has "$est" || continue
        echo
        echo "== m4sim compare $SCENARIO/packet/fct.txt $SCENARIO/$est/fct.txt   ($est vs packet)"
        "$M4SIM" compare "$SCENARIO/packet/fct.txt" "$SCENARIO/$est/fct.txt" || exit 1
    done
fi
if [ -n "$REFERENCE" ]; then
    for est in packet flow m4; do
        has "$est" || continue
        echo
        echo "== m4sim compare $REFERENCE $SCENARIO/$est/fct.txt   ($est vs the ns-3 fork)"
        "$M4SIM" compare "$REFERENCE" "$SCENARIO/$est/fct.txt" || exit 1
    done
elif has packet; then
    :
elif has flow; then
    echo
    echo "== flow backend (no packet-level reference built to compare with)"
    cat "$SCENARIO/flow/summary.txt"
else
    echo "demo: no backend ran" >&2
    exit 1
fi
echo
echo "outputs: $SCENARIO/<backend>/fct.txt and summary.txt"
