#!/bin/sh
# make model: rebuild the shipped default model from scratch with a fixed seed.
#
#   sh tools/make_model.sh BUILD/m4sim        (MODEL_DATA=dir for the dataset)
#
# 1. the training set: 600 scenarios of 2000 flows on the 32-host fabric,
#    their packet-level runs with --trace (about 12 minutes on 2 cores);
# 2. training with the recipe of models/README.md (about 50 minutes on 2
#    cores), the learned correction scaled by SHRINK in the final file.
#    The same seed, thread count and machine give the same model file.
set -eu
M4SIM=${1:-build/m4sim}
DATA=${MODEL_DATA:-build/model-data}
OUT=${MODEL_OUT:-models/default.m4}
EPOCHS=${MODEL_EPOCHS:-18}
SHRINK=${MODEL_SHRINK:-0.5}
"$M4SIM" dataset -o "$DATA" --scenarios 600 --flows 2000 --jobs 2 --seed 1
"$M4SIM" train "$DATA" -o "$OUT" --hidden 48 --gnn 64 --epochs "$EPOCHS" --lr 0.0003 \
    --samples 600 --uniform-fraction 0.5 --patience 3 --early-stop 8 --threads 2 --seed 1 \
    --shrink "$SHRINK" --plot "${OUT%.m4}-loss.png"
rm -f "$OUT.ckpt"
echo "make model: wrote $OUT, ${OUT}.log.txt and ${OUT%.m4}-loss.png"
