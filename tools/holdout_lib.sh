# shellcheck shell=sh
# Shared by tools/holdout.sh and tools/holdout_large.sh (sourced; M4SIM set).

# "mean p90" per-flow slowdown error of EST against DIR/packet/fct.txt:  errors DIR EST
errors() {
    "$M4SIM" compare "$1/packet/fct.txt" "$2" --json |
        sed -n 's/^{"n":[^,]*,"mean":\([^,]*\),"p50":[^,]*,"p90":\([^,]*\),.*/\1 \2/p'
}

# flows of EST more than 3x off DIR/packet/fct.txt's slowdown, either way
# (same flow order):  far_off DIR EST
far_off() {
    paste "$1/packet/fct.txt" "$2" | awk 'NR > 1 { r = $16 / $8; if (r > 3 || r < 1 / 3) n++ } END { print n + 0 }'
}
