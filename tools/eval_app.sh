#!/bin/sh
# Closed-loop evaluation (issue 6): for each CC, application workloads on the
# 32-host fabric through the packet, flow and (when it runs) m4 backends;
# prints application completion time, throughput, and the error of flow/m4
# against packet. Called by tools/eval.sh (make eval).
#
#   sh tools/eval_app.sh BUILD/m4sim        (EVAL_OUT=dir, EVAL_M4_MODEL=file)
#
# Errors: completion = |est - packet| / packet of the completion time (the
# application throughput, bytes x 8 / completion, has the same relative
# error); curve = mean over time bins of |gbps_est - gbps_packet| divided by
# the packet's mean gbps, on bins of 1/50 of the flow backend's completion.
# Output: $EVAL_OUT/app/table.txt (also printed), one directory per run.
set -u
M4SIM=${1:-build/m4sim}
OUT=${EVAL_OUT:-eval-out}/app
HERE=$(dirname "$0")
APPS_DIR="$HERE/../examples/apps"
mkdir -p "$OUT"

"$M4SIM" app --ring-allreduce 0-31 --size 32MB --think 10us -o "$OUT/ring_allreduce_32.txt" || exit 1
APPS="ring_allreduce_32:$OUT/ring_allreduce_32.txt ring_allreduce_8:$APPS_DIR/ring_allreduce_8.txt
parameter_server:$APPS_DIR/parameter_server.txt rpc_chain:$APPS_DIR/rpc_chain.txt"
model_opt=""
[ -n "${EVAL_M4_MODEL:-}" ] && model_opt="--model $EVAL_M4_MODEL"

key() { sed -n "s/^$2 //p" "$1"; }
rel_err() { echo "$1 $2" | awk '{ d = $1 - $2; if (d < 0) d = -d; printf "%.4f", d / $2 }'; }
curve_err() { # packet throughput.txt, estimate throughput.txt (same bins)
    awk 'NR == FNR { if (FNR > 1) ref[FNR] = $4; next }
         FNR > 1 { est[FNR] = $4 }
         END { n = 0; s = 0; m = 0
               for (i in ref) { e = (i in est) ? est[i] : 0; d = e - ref[i]; if (d < 0) d = -d
                                s += d; m += ref[i]; n++ }
               for (i in est) if (!(i in ref)) { s += est[i]; n++ }
               if (m > 0) printf "%.4f", s / m; else print "n/a" }' "$1" "$2"
}

table="$OUT/table.txt"
tmp="$table.tmp"
printf '%-6s %-18s %11s %11s %11s %8s %8s %8s %8s %8s %8s %8s\n' cc app packet_us flow_us m4_us \
    flow_err m4_err flow_crv m4_crv pkt_gbps flow_gbps m4_gbps > "$tmp"
m4_available=yes
for cc in dctcp dcqcn hpcc timely; do
    sc="$OUT/fabric-$cc"
    if [ ! -f "$sc/topology.txt" ]; then
        "$M4SIM" gen -o "$sc" --topo fabric:pods=2,racks=4,hosts=4 --cc "$cc" --flows 2 --seed 1 \
            >/dev/null || { echo "eval_app: gen failed for $cc" >&2; continue; }
    fi
    for entry in $APPS; do
        name=${entry%%:*}
        file=${entry#*:}
        run="$sc/$name"
        # The flow backend (cheap) sets the time bins, 1/50 of its completion;
        # every backend then reports throughput on the same bins.
        "$M4SIM" app "$file" --scenario "$sc" --backend flow --quiet -o "$run/flow" \
            > "$run.flow.log" 2>&1 || { echo "eval_app: flow failed: $cc $name" >&2; continue; }
        bin=$(( ($(key "$run/flow/app.txt" completion_ns) + 49) / 50 ))
        "$M4SIM" app "$file" --scenario "$sc" --backend packet --quiet --bin "${bin}ns" \
            -o "$run/packet" > "$run.packet.log" 2>&1 ||
            { echo "eval_app: packet failed: $cc $name" >&2; continue; }
        pkt=$(key "$run/packet/app.txt" completion_ns)
        row_flow_us=n/a; row_m4_us=n/a; fe=n/a; me=n/a; fc=n/a; mc=n/a; fg=n/a; mg=n/a
        for est in flow m4; do
            opts=""
            [ "$est" = m4 ] && opts="$model_opt"
            # shellcheck disable=SC2086
            if "$M4SIM" app "$file" --scenario "$sc" --backend "$est" $opts --quiet \
                --bin "${bin}ns" -o "$run/$est" > "$run.$est.log" 2>&1; then
                c=$(key "$run/$est/app.txt" completion_ns)
                us=$(echo "$c" | awk '{printf "%.1f", $1 / 1000}')
                err=$(rel_err "$c" "$pkt")
                crv=$(curve_err "$run/packet/throughput.txt" "$run/$est/throughput.txt")
                g=$(key "$run/$est/app.txt" throughput_gbps | awk '{printf "%.2f", $1}')
                if [ "$est" = flow ]; then row_flow_us=$us; fe=$err; fc=$crv; fg=$g
                else row_m4_us=$us; me=$err; mc=$crv; mg=$g; fi
            elif [ "$est" = m4 ]; then
                m4_available=no
            fi
        done
        pus=$(echo "$pkt" | awk '{printf "%.1f", $1 / 1000}')
        pg=$(key "$run/packet/app.txt" throughput_gbps | awk '{printf "%.2f", $1}')
        printf '%-6s %-18s %11s %11s %11s %8s %8s %8s %8s %8s %8s %8s\n' "$cc" "$name" "$pus" \
            "$row_flow_us" "$row_m4_us" "$fe" "$me" "$fc" "$mc" "$pg" "$fg" "$mg" >> "$tmp"
    done
done
mv "$tmp" "$table"
cat "$table"
awk 'NR > 1 && $6 != "n/a" { f += $6; nf++ } NR > 1 && $7 != "n/a" { m += $7; nm++ }
     END { if (nf) printf "mean completion-time error: flow %.4f", f / nf
           if (nm) printf ", m4 %.4f (target: at most half of flow)", m / nm
           printf "\n" }' "$table"
if [ "$m4_available" != yes ]; then
    why=$(cat "$OUT"/fabric-*/*.m4.log 2>/dev/null | head -n 1)
    echo "m4: not available (${why:-m4sim app --backend m4 failed}; logs: $OUT/*/*.m4.log)"
fi
echo "(completion times in us; err: relative error of the completion time against packet;"
echo " crv: throughput-over-time error; gbps: bytes x 8 / completion time)"
