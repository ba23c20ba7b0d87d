#!/bin/sh
# Build and run the libFuzzer targets.
#   fuzz/run.sh SECONDS [fuzz/fuzz_x.c ...]    (default: every fuzz/fuzz_*.c)
# The library sources are compiled once with clang and the sanitizers into
# build-fuzz/; each target runs for SECONDS with its corpus in
# build-fuzz/corpus/<name>/. Exits non-zero if a target fails to build or
# finds a crash (the reproducer is left in build-fuzz/).
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-$(ls fuzz/fuzz_*.c)}
out=build-fuzz
flags="-g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Iinclude -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread"
mkdir -p "$out/obj" "$out/corpus"
objs=""
for src in $(ls src/core/*.c src/net/*.c src/workload/*.c src/sim/*.c src/flow/*.c src/packet/*.c src/packet/cc/*.c src/nn/*.c src/m4/*.c src/app/*.c 2>/dev/null); do
    obj="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src -name '*.h' -newer "$obj" | head -1)" ]; then
        clang $flags -c "$src" -o "$obj"
    fi
    objs="$objs $obj"
done
status=0
for target in $targets; do
    name=$(basename "$target" .c)
    clang $flags -fsanitize=fuzzer "$target" $objs -lopenblas -lm -lpthread -o "$out/$name"
    mkdir -p "$out/corpus/$name"
    # Seed corpora from the reference scenarios where they fit.
    case $name in
    fuzz_topology)
        for dir in tests/data/ns3-reference/*/; do
            cp "$dir/topology.txt" "$out/corpus/$name/seed_$(basename "$dir")" 2>/dev/null || true
        done ;;
    fuzz_flows) printf '2\n0 1 3 100 2699 1.0\n1 2 3 100 41610 1.000245319\n' >"$out/corpus/$name/seed" ;;
    fuzz_config) printf 'CC hpcc\nHPCC_ETA 0.9\nWINDOW_BYTES 15000\n' >"$out/corpus/$name/seed" ;;
    fuzz_app) cp examples/apps/*.txt "$out/corpus/$name/" 2>/dev/null || true ;;
    esac
    echo "== $name for ${seconds}s"
    if ! (cd "$out" && "./$name" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 \
            "corpus/$name" >"$name.log" 2>&1); then
        status=1
        echo "   FAILED: see $out/$name.log"
    fi
    tail -3 "$out/$name.log"
    if ls "$out"/crash-* "$out"/leak-* "$out"/oom-* "$out"/timeout-* >/dev/null 2>&1; then status=1; fi
done
exit $status
