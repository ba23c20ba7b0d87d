#!/bin/sh
# Neural-network core speed: m4's full per-event update (forward, forward+backward)
# at H,G = 200,300 and 64,96 for 8, 64 and 512 rows, against a 1024^3 sgemm
# measured in the same run (bench/nn_bench.c). Compiled here against the
# built library; runs at nice 19 so it yields to other work on the machine.
# OpenBLAS chooses its kernels from the CPU model; on a CPU it does not know
# (e.g. a VM reporting "Intel(R) Xeon(R) Processor") it falls back to the
# SSE3 "Prescott" kernels, 3-4x below what AVX-512 gives. When that happens
# and OPENBLAS_CORETYPE is not set, the table is repeated with the kernels
# the CPU flags allow, to show what setting OPENBLAS_CORETYPE would gain.
set -u
M4SIM=${1:-build/m4sim}
BUILD=$(dirname "$M4SIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$BUILD/bench}
mkdir -p "$OUT" || exit 1
[ -f "$BUILD/libm4sim.a" ] || { echo "nn bench: $BUILD/libm4sim.a not built" >&2; exit 1; }
${CC:-cc} -std=c17 -D_GNU_SOURCE -O2 -I"$ROOT/include" -I"$ROOT/src" \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -o "$OUT/nn_bench" "$ROOT/bench/nn_bench.c" \
    "$BUILD/libm4sim.a" -lopenblas -lmvec -lm -lpthread || exit 1
nice -n 19 "$OUT/nn_bench" | tee "$OUT/nn_bench.txt" || exit 1
if [ -z "${OPENBLAS_CORETYPE:-}" ] && head -n 1 "$OUT/nn_bench.txt" | grep -q "kernels: Prescott"; then
    core=""
    grep -q avx2 /proc/cpuinfo 2>/dev/null && core=Haswell
    grep -q avx512f /proc/cpuinfo 2>/dev/null && core=SkylakeX
    if [ -n "$core" ]; then
        echo "-- OpenBLAS fell back to Prescott kernels; again with OPENBLAS_CORETYPE=$core:"
        OPENBLAS_CORETYPE=$core nice -n 19 "$OUT/nn_bench" || exit 1
    fi
fi
