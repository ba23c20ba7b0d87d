#!/bin/sh
# make eval: generate test scenarios that no model was trained on (new seeds,
# the Meta webserver / hadoop / cachefollower workloads, 256- and 1024-host
# fabrics, all four CCs, 2:1 oversubscription), run every built backend on
# them, and write a table of per-flow slowdown error against the packet
# backend plus wall times.
#
#   sh tools/eval.sh BUILD/m4sim            (EVAL_SCALE=small|full, EVAL_OUT=dir)
#
# Output: $EVAL_OUT/table.txt (also printed) and one directory per scenario
# with each backend's fct.txt and the compare outputs.
set -u
M4SIM=${1:-build/m4sim}
OUT=${EVAL_OUT:-eval-out}
SCALE=${EVAL_SCALE:-small}
mkdir -p "$OUT"

if [ "$SCALE" = full ]; then
    FLOWS_256=20000
    FLOWS_1024=20000
else
    FLOWS_256=2000
    FLOWS_1024=4000
fi
FABRIC_256="fabric:pods=4,racks=4,hosts=16"
FABRIC_1024="fabric:pods=8,racks=8,hosts=16"

# name topo workload cc load sigma flows extra-topo-options
SCENARIOS="
s256-webserver-dctcp $FABRIC_256 webserver dctcp 0.5 1 $FLOWS_256
s256-hadoop-dcqcn $FABRIC_256 hadoop dcqcn 0.6 2 $FLOWS_256
s256-cachefollower-hpcc $FABRIC_256 cachefollower hpcc 0.5 1 $FLOWS_256
s256-webserver-timely $FABRIC_256 webserver timely 0.4 2 $FLOWS_256
s256os-hadoop-dctcp $FABRIC_256,oversub=2 hadoop dctcp 0.5 1 $FLOWS_256
s1024-cachefollower-dctcp $FABRIC_1024 cachefollower dctcp 0.5 1 $FLOWS_1024
s1024-webserver-hpcc $FABRIC_1024 webserver hpcc 0.6 2 $FLOWS_1024
"

now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{printf "%.2f", $2 - $1}'; }
json_field() { tail -n 1 "$1" | sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p"; }

table="$OUT/table.txt"
tmp_table="$table.tmp"
printf '%-28s %7s %9s %9s %9s %9s %9s %9s %9s %8s\n' scenario flows \
    flow_mean flow_p90 m4_mean m4_p90 packet_s flow_s m4_s speedup > "$tmp_table"

seed=1000
echo "$SCENARIOS" | while read -r name topo workload cc load sigma flows; do
    [ -n "$name" ] || continue
    seed=$((seed + 1))
    dir="$OUT/$name"
    if [ ! -f "$dir/flows.txt" ]; then
        "$M4SIM" gen -o "$dir" --topo "$topo" --workload "$workload" --cc "$cc" \
            --load "$load" --sigma "$sigma" --flows "$flows" --seed "$seed" >/dev/null || {
            echo "eval: gen failed for $name" >&2; continue; }
    fi
    for backend in packet flow m4; do
        t0=$(now)
        if "$M4SIM" run "$dir" --backend "$backend" -o "$dir/$backend" >"$dir/$backend.log" 2>&1; then
            echo "$(elapsed "$t0" "$(now)")" > "$dir/$backend.seconds"
        else
            rm -f "$dir/$backend.seconds"
        fi
    done
    row_flow_mean=n/a; row_flow_p90=n/a; row_m4_mean=n/a; row_m4_p90=n/a
    if [ -f "$dir/packet.seconds" ]; then
        for est in flow m4; do
            [ -f "$dir/$est.seconds" ] || continue
            "$M4SIM" compare "$dir/packet/fct.txt" "$dir/$est/fct.txt" --json \
                > "$dir/compare_$est.txt" 2>&1 || continue
            mean=$(json_field "$dir/compare_$est.txt" mean)
            p90=$(json_field "$dir/compare_$est.txt" p90)
            if [ "$est" = flow ]; then row_flow_mean=$mean; row_flow_p90=$p90;
            else row_m4_mean=$mean; row_m4_p90=$p90; fi
        done
    fi
    ps=$(cat "$dir/packet.seconds" 2>/dev/null || echo n/a)
    fs=$(cat "$dir/flow.seconds" 2>/dev/null || echo n/a)
    ms=$(cat "$dir/m4.seconds" 2>/dev/null || echo n/a)
    speedup=n/a
    if [ "$ps" != n/a ] && [ "$ms" != n/a ]; then
        speedup=$(echo "$ps $ms" | awk '{ if ($2 > 0) printf "%.0f", $1 / $2; else print "inf" }')
    fi
    printf '%-28s %7s %9s %9s %9s %9s %9s %9s %9s %8s\n' "$name" "$flows" "$row_flow_mean" \
        "$row_flow_p90" "$row_m4_mean" "$row_m4_p90" "$ps" "$fs" "$ms" "$speedup" >> "$tmp_table"
done
mv "$tmp_table" "$table"
cat "$table"
echo "(errors: per-flow |slowdown_est - slowdown_packet| / slowdown_packet; times: whole runs, seconds)"
sh "$(dirname "$0")/eval_app.sh" "$M4SIM"   # closed-loop applications (issue 6)
