#!/bin/sh
# shellcheck disable=SC2046  # set -- $(...) splits numbers on purpose
# The table and plots of make eval, from the scenario directories that
# tools/eval_one.sh filled (called by tools/eval.sh; rerunnable on its own).
#
#   sh tools/eval_table.sh M4SIM OUT
#
# Per scenario (OUT/scenarios.txt): flows, mean and p90 per-flow slowdown error
# of flow and m4 against packet (m4sim compare --json, kept as
# compare_EST.json with compare_EST.png), each backend's whole-process wall
# seconds, m4's speedup over packet in wall and in CPU seconds, m4's peak RSS.
# OVERALL: errors pooled over every flow of the scenarios where all three
# backends ran; MEAN: the mean of the per-scenario figures over those
# scenarios. Error = |slowdown_est - slowdown_packet| / slowdown_packet,
# slowdown = max(1, fct_ns / ideal_fct_ns), percentiles nearest-rank (as
# m4sim compare). floor: the same error of packet run on the scenario with
# every start 1-50 ns later (tools/eval_one.sh) against packet, the ground
# truth's own spread under a perturbation no flow-level input can see. Then the
# pooled mean errors by flow size (flow, m4, floor and their ratios). Plots:
# OUT/err_cdf.png (pooled per-flow error CDF of flow and m4),
# OUT/slowdown_by_size.png (median and p90 slowdown per size bucket of
# packet, flow, m4, pooled). n/a: a backend that did not run.
set -u
M4SIM=${1:?usage: eval_table.sh M4SIM OUT}
OUT=${2:?usage: eval_table.sh M4SIM OUT}
P="$OUT/pooled"
rm -rf "$P"
mkdir -p "$P" || exit 1

# flow-size buckets name:lo:hi (bytes, hi -1: no bound), those of m4sim compare
SIZE_BUCKETS="0-10KB:0:10000 10KB-100KB:10000:100000 100KB-1MB:100000:1000000 1MB+:1000000:-1"
bucket_name() { echo "${1%%:*}"; }
bucket_lo() { b=${1#*:}; echo "${b%%:*}"; }
bucket_hi() { echo "${1##*:}"; }
key() { [ -f "$1" ] && sed -n "s/^$2 //p" "$1"; }
# top-level "mean" and "p90" of m4sim compare --json (keys n, mean, p50, p90 first)
json_mean_p90() {
    sed -n 's/^{"n":[^,]*,"mean":\([^,]*\),"p50":[^,]*,"p90":\([^,]*\),.*/\1 \2/p' "$1"
}
ratio() { echo "$1 $2" | awk '$1 == "n/a" || $2 == "n/a" { print "n/a"; next }
                              $2 > 0 { printf "%.1f", $1 / $2; next } { print "n/a" }'; }
# per-flow error of EST against REF, one "size error" line per flow in both
flow_errors() {
    awk 'NR == FNR { if (FNR > 1) { s = $6 / $7; ref[$1] = s < 1 ? 1 : s }; next }
         FNR > 1 && ($1 in ref) { s = $6 / $7; if (s < 1) s = 1
                                  d = s - ref[$1]; if (d < 0) d = -d; print $4, d / ref[$1] }' "$1" "$2"
}
# "size slowdown" per flow
slowdowns() { awk 'NR > 1 { s = $6 / $7; print $4, (s < 1 ? 1 : s) }' "$1"; }
# mean and nearest-rank p90 of column 2 of stdin -> "mean p90" (n/a when empty)
mean_p90() {
    sort -g -k2,2 | awk '{ v[NR] = $2; s += $2 }
        END { if (NR == 0) { print "n/a n/a"; exit }
              k = int(0.9 * NR); if (k < 0.9 * NR) k++; printf "%.4f %.4f\n", s / NR, v[k] }'
}

fmt='%-28s %6s %9s %9s %9s %9s %9s %9s %9s %8s %8s %8s %8s %8s\n'
table="$OUT/table.txt"
tmp="$table.tmp"
{
    echo "# per-flow slowdown error against packet (mean, p90); wall seconds per whole run;"
    echo "# speedup = packet / m4 wall seconds, cpu_spd = packet / m4 CPU seconds; m4_rss = m4's peak RSS"
    printf "$fmt" scenario flows flow_mean flow_p90 m4_mean m4_p90 floor_mean floor_p90 packet_s \
        flow_s m4_s speedup cpu_spd m4_rss_mb
} > "$tmp"
: > "$P/complete.txt"
while read -r name _ _ _ _ _ flows _; do
    [ -n "$name" ] || continue
    d="$OUT/$name"
    row_fm=n/a row_fp=n/a row_mm=n/a row_mp=n/a row_jm=n/a row_jp=n/a
    for est in flow m4 jitter; do
        rm -f "$d/compare_$est.json" "$d/compare_$est.png"
        [ -f "$d/packet.time" ] && [ -f "$d/$est.time" ] || continue
        "$M4SIM" compare "$d/packet/fct.txt" "$d/$est/fct.txt" --json > "$d/compare_$est.json" \
            2> "$d/compare_$est.err" || { rm -f "$d/compare_$est.json"; continue; }
        "$M4SIM" compare "$d/packet/fct.txt" "$d/$est/fct.txt" --plot "$d/compare_$est.png" \
            > /dev/null 2>> "$d/compare_$est.err"
        set -- $(json_mean_p90 "$d/compare_$est.json")
        [ $# -eq 2 ] || continue
        set -- $(printf '%.4f %.4f' "$1" "$2")
        case $est in
            flow) row_fm=$1 row_fp=$2 ;;
            m4) row_mm=$1 row_mp=$2 ;;
            jitter) row_jm=$1 row_jp=$2 ;;
        esac
    done
    pw=$(key "$d/packet.time" wall_s); fw=$(key "$d/flow.time" wall_s); mw=$(key "$d/m4.time" wall_s)
    pc=$(key "$d/packet.time" cpu_s); mc=$(key "$d/m4.time" cpu_s)
    mr=$(key "$d/m4.time" peak_rss_mb)
    pw=${pw:-n/a} fw=${fw:-n/a} mw=${mw:-n/a} pc=${pc:-n/a} mc=${mc:-n/a} mr=${mr:-n/a}
    # CPU seconds are counted in 0.01 s steps: a floor of 0.01 for m4
    mc_floor=$(echo "$mc" | awk '$1 == "n/a" { print; next } { print ($1 < 0.01 ? 0.01 : $1) }')
    printf "$fmt" "$name" "$flows" "$row_fm" "$row_fp" "$row_mm" "$row_mp" "$row_jm" "$row_jp" \
        "$(printf %.2f "$pw" 2>/dev/null || echo n/a)" "$(printf %.2f "$fw" 2>/dev/null || echo n/a)" \
        "$(printf %.2f "$mw" 2>/dev/null || echo n/a)" "$(ratio "$pw" "$mw")" \
        "$(ratio "$pc" "$mc_floor")" "$mr" >> "$tmp"
    if [ "$row_fm" != n/a ] && [ "$row_mm" != n/a ]; then
        flow_errors "$d/packet/fct.txt" "$d/flow/fct.txt" >> "$P/err_flow.txt"
        flow_errors "$d/packet/fct.txt" "$d/m4/fct.txt" >> "$P/err_m4.txt"
        for b in packet flow m4; do slowdowns "$d/$b/fct.txt" >> "$P/sd_$b.txt"; done
        if [ "$row_jm" != n/a ]; then
            flow_errors "$d/packet/fct.txt" "$d/jitter/fct.txt" >> "$P/err_floor.txt"
        else
            echo "$name" >> "$P/no_floor.txt"
        fi
        echo "$name $flows $row_fm $row_fp $row_mm $row_mp $pw $fw $mw $pc $mc $row_jm $row_jp" \
            >> "$P/complete.txt"
    fi
done < "$OUT/scenarios.txt"

total=$(awk 'NF' "$OUT/scenarios.txt" | wc -l)
ncomp=$(wc -l < "$P/complete.txt")
if [ "$ncomp" -gt 0 ]; then
    set -- $(mean_p90 < "$P/err_flow.txt") $(mean_p90 < "$P/err_m4.txt")
    o_fm=$1 o_fp=$2 o_mm=$3 o_mp=$4
    # the floor pooled only where every complete scenario has it
    o_jm=n/a o_jp=n/a s_jm=n/a s_jp=n/a
    if [ ! -f "$P/no_floor.txt" ] && [ -f "$P/err_floor.txt" ]; then
        set -- $(mean_p90 < "$P/err_floor.txt")
        o_jm=$1 o_jp=$2
        set -- $(awk '{ a += $12; b += $13; n++ } END { printf "%.4f %.4f\n", a / n, b / n }' \
                     "$P/complete.txt")
        s_jm=$1 s_jp=$2
    fi
    set -- $(awk '{ n++; f += $2; a += $3; b += $4; c += $5; e += $6; pw += $7; fw += $8; mw += $9
                    pc += $10; mc += $11 }
                  END { printf "%d %.4f %.4f %.4f %.4f %.2f %.2f %.2f %.2f %.2f\n",
                        f, a / n, b / n, c / n, e / n, pw, fw, mw, pc, (mc < 0.01 ? 0.01 : mc) }' \
                  "$P/complete.txt")
    nflows=$1 s_fm=$2 s_fp=$3 s_mm=$4 s_mp=$5 t_pw=$6 t_fw=$7 t_mw=$8 t_pc=$9 t_mc=${10}
    rss_max=$(awk 'NR > 3 && $14 != "n/a" && $14 + 0 > m { m = $14 + 0 } END { if (m > 0) printf "%.1f\n", m; else print "n/a" }' "$tmp")
    printf "$fmt" "OVERALL(pooled,${ncomp}/${total})" "$nflows" "$o_fm" "$o_fp" "$o_mm" "$o_mp" \
        "$o_jm" "$o_jp" "$t_pw" "$t_fw" "$t_mw" "$(ratio "$t_pw" "$t_mw")" "$(ratio "$t_pc" "$t_mc")" "$rss_max" >> "$tmp"
    printf "$fmt" "MEAN(over scenarios)" - "$s_fm" "$s_fp" "$s_mm" "$s_mp" "$s_jm" "$s_jp" - - - - - - \
        >> "$tmp"
    r() { echo "$1 $2" | awk '$2 > 0 { printf "%.3f", $1 / $2; next } { print "n/a" }'; }
    {
        echo "m4/flow error ratio, pooled: mean $(r "$o_mm" "$o_fm"), p90 $(r "$o_mp" "$o_fp");" \
             "mean over scenarios: mean $(r "$s_mm" "$s_fm"), p90 $(r "$s_mp" "$s_fp")" \
             "(target: <= 0.5 each)"
        [ "$o_jm" = n/a ] ||
            echo "noise floor, pooled (packet with starts 1-50 ns later against packet): mean $o_jm," \
                 "p90 $o_jp; at the floor the ratios would be $(r "$o_jm" "$o_fm") and $(r "$o_jp" "$o_fp")"
        # the pooled mean errors by flow size (the buckets of m4sim compare)
        floor_file=
        [ "$o_jm" = n/a ] || floor_file="$P/err_floor.txt"
        printf '%-14s %8s %9s %9s %9s %8s %10s\n' size_bucket flows flow_mean m4_mean floor_mean \
            m4/flow floor/flow
        for bk in $SIZE_BUCKETS; do
            # shellcheck disable=SC2086  # floor_file is empty or one path without spaces
            awk -v name="$(bucket_name "$bk")" -v lo="$(bucket_lo "$bk")" -v hi="$(bucket_hi "$bk")" \
                'FNR == 1 { k++ }
                $1 >= lo && (hi < 0 || $1 < hi) { s[k] += $2; n[k]++ }
                END { if (n[1] == 0) exit
                      f = s[1] / n[1]; m = s[2] / n[2]
                      fl = k >= 3 ? sprintf("%.4f", s[3] / n[3]) : "n/a"
                      fr = k >= 3 && f > 0 ? sprintf("%.2f", (s[3] / n[3]) / f) : "n/a"
                      printf "%-14s %8d %9.4f %9.4f %9s %8s %10s\n", name, n[1], f, m, fl,
                             (f > 0 ? sprintf("%.2f", m / f) : "n/a"), fr }' \
                "$P/err_flow.txt" "$P/err_m4.txt" $floor_file
        done
        awk '$1 ~ /^s1024/ { n++; pw += $7; mw += $9; pc += $10; mc += $11 }
             END { if (n) printf "1024-host scenarios (%d): packet %.1f s, m4 %.1f s wall (speedup %.1fx), CPU %.1f s vs %.2f s (speedup %.1fx); target >= 100x\n",
                   n, pw, mw, (mw > 0 ? pw / mw : 0), pc, mc, pc / (mc < 0.01 ? 0.01 : mc) }' "$P/complete.txt"
    } >> "$tmp"
else
    echo "OVERALL: n/a (no scenario has packet, flow and m4 results)" >> "$tmp"
fi
mv "$tmp" "$table"
cat "$table"
[ "$ncomp" -gt 0 ] || exit 0
command -v gnuplot > /dev/null 2>&1 || { echo "eval: gnuplot not found, no plots" >&2; exit 0; }

# error CDFs (at most about 2000 points per curve)
for est in flow m4; do
    sort -g -k2,2 "$P/err_$est.txt" | awk -v n="$(wc -l < "$P/err_$est.txt")" \
        'BEGIN { step = int(n / 2000); if (step < 1) step = 1 }
         NR % step == 0 || NR == n { print $2, NR / n }' > "$P/cdf_$est.dat"
done
xmax=$(cat "$P/err_flow.txt" "$P/err_m4.txt" | sort -g -k2,2 |
       awk '{ v[NR] = $2 } END { k = int(0.99 * NR); if (k < 1) k = 1; x = v[k] * 1.1
                                 if (x > 3) x = 3; if (x < 0.05) x = 0.05; print x }')
gnuplot <<EOF 2> "$P/gnuplot.err" || echo "eval: gnuplot failed (see $P/gnuplot.err)" >&2
set terminal pngcairo size 900,560 font ',10' noenhanced
set output '$OUT/err_cdf.png'
set title 'Per-flow slowdown error vs packet, ${ncomp} test scenarios pooled (${nflows} flows)'
set xlabel '|slowdown_est - slowdown_packet| / slowdown_packet'
set ylabel 'fraction of flows'
set xrange [0:$xmax]
set yrange [0:1]
set grid
set key bottom right
plot '$P/cdf_flow.dat' using 1:2 with lines lw 2 title sprintf('flow (mean %s, p90 %s)', '$o_fm', '$o_fp'), \
     '$P/cdf_m4.dat' using 1:2 with lines lw 2 title sprintf('m4 (mean %s, p90 %s)', '$o_mm', '$o_mp')
EOF

# slowdown by size bucket: median and p90 of packet, flow, m4 (bucket bounds as m4sim compare)
{
    echo "# bucket packet_p50 flow_p50 m4_p50 packet_p90 flow_p90 m4_p90 n"
    for bk in $SIZE_BUCKETS; do
        line=$(bucket_name "$bk"); lo=$(bucket_lo "$bk"); hi=$(bucket_hi "$bk"); n=0
        for q in 0.5 0.9; do
            for b in packet flow m4; do
                v=$(awk -v lo="$lo" -v hi="$hi" '$1 >= lo && (hi < 0 || $1 < hi) { print $2 }' "$P/sd_$b.txt" |
                    sort -g | awk -v q="$q" '{ v[NR] = $1 } END { if (NR == 0) { print "NaN"; exit }
                        k = int(q * NR); if (k < q * NR) k++; printf "%.3f %d\n", v[k], NR }')
                n=${v#* }; line="$line ${v%% *}"
            done
        done
        echo "$line $n"
    done
} > "$P/slowdown_by_size.dat"
gnuplot <<EOF 2>> "$P/gnuplot.err" || echo "eval: gnuplot failed (see $P/gnuplot.err)" >&2
set terminal pngcairo size 1100,480 font ',10' noenhanced
set output '$OUT/slowdown_by_size.png'
set multiplot layout 1,2 title 'Slowdown by flow size, ${ncomp} test scenarios pooled (flows per bucket: $(awk 'NR > 1 { printf "%s%s %s", sep, $1, $8; sep = ", " }' "$P/slowdown_by_size.dat"))'
set logscale y
set yrange [0.9:*]
set xrange [-0.3:3.3]
set grid
set ylabel 'slowdown'
set xlabel 'flow size'
set key top left
set title 'median'
plot '$P/slowdown_by_size.dat' using 0:2:xtic(1) with linespoints lw 2 pt 7 title 'packet', \
     '' using 0:3 with linespoints lw 2 pt 5 title 'flow', '' using 0:4 with linespoints lw 2 pt 9 title 'm4'
set title 'p90'
plot '$P/slowdown_by_size.dat' using 0:5:xtic(1) with linespoints lw 2 pt 7 title 'packet', \
     '' using 0:6 with linespoints lw 2 pt 5 title 'flow', '' using 0:7 with linespoints lw 2 pt 9 title 'm4'
unset multiplot
EOF
echo "plots: $OUT/err_cdf.png $OUT/slowdown_by_size.png; per scenario: compare_{flow,m4}.{json,png}"
