#!/usr/bin/env bash
# A GPU machine's whole visit in one call of under ten minutes:
#   1. tests/test_device.py on the GPU: every model's tensor path against the CPU;
#   2. profile_betavae_step.py for one model and for a stack of eight (with and without
#      cuDNN's benchmark mode): milliseconds per step, the operators that take the time,
#      and how often a step waits for the GPU;
#   3. beta = 1 against beta = 4, seeds 0-3, trained at once as one stacked model
#      (bench_betavae.py --stack) towards the literature's 300,000 steps of 64 at Adam
#      1e-4 for TRAIN_S seconds (4 minutes), every model stopping at the same step, then scored as
#      the CPU runs in benchmarks/RESULTS.md are (MIG at 10,000 codes, FactorVAE at
#      VOTES + VOTES/2 votes).
# Files in $OUT (default device-check/), eight at most: tests.log (with the versions),
# profile.log, bench.log, betavae_gpu.json, the two seed-0 traversal figures, and the
# eight trained models as models.tar.aa, models.tar.ab (split tar; `cat models.tar.* | tar
# x` gives stack_*/{beta1,beta4}_seed{0..3}/model.*, which betavae_axes.py reads).
# Needs torch with CUDA, numpy, matplotlib, safetensors, tqdm, scikit-learn, scipy and
# pytest; genlab runs from src/.
#
#     bash benchmarks/device_check.sh
#
# About 2 + 1 + 4 + 1 minutes: run it with the device tool's timeout_s 600.
# DEVICE, PROFILE_STEPS, TRAIN_S, VOTES, SEEDS and THREADS (CPU threads) override cuda,
# 50, 240, 1000, "0 1 2 3" and 4; on a 2-core machine, DEVICE=cpu PROFILE_STEPS=2
# TRAIN_S=10 VOTES=10 SEEDS=0 THREADS=1 is a dry run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device-check}
mkdir -p "$OUT"
TMP=$(mktemp -d)
export PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda} PROFILE_STEPS=${PROFILE_STEPS:-50} TRAIN_S=${TRAIN_S:-240}
VOTES=${VOTES:-1000} THREADS=${THREADS:-4}
SEEDS=${SEEDS:-0 1 2 3}
status=0

{
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
        torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
  echo "== 1. tests/test_device.py on $DEVICE"
  GENLAB_TEST_DEVICE=$DEVICE timeout 120 $PY -m pytest -q -rs -x tests/test_device.py
} 2>&1 | tee "$OUT/tests.log" || status=1

echo "== 2. where a step's time goes: one model, then a stack of eight (twice)"
for run in "--models 1" "--models 8" "--models 8 --cudnn-benchmark"; do
  # shellcheck disable=SC2086  # run is a list of options
  timeout 60 $PY benchmarks/profile_betavae_step.py --device "$DEVICE" $run \
    --steps "$PROFILE_STEPS" --warmup 10 --threads "$THREADS" 2>&1 | tee -a "$OUT/profile.log" \
    || status=1
done

echo "== 3. beta 1 and beta 4, seeds $SEEDS, stacked, $TRAIN_S s of training"
# shellcheck disable=SC2086  # SEEDS is a list
timeout $((TRAIN_S + 150)) $PY benchmarks/bench_betavae.py --device "$DEVICE" --stack \
  --models beta1 beta4 --seeds $SEEDS --steps 300000 --batch-size 64 --lr 0.0001 \
  --init-bias --votes "$VOTES" --threads "$THREADS" --time-limit "$TRAIN_S" --tag _gpu \
  --runs "$TMP/runs" --out "$OUT/betavae_gpu.json" 2>&1 | tee "$OUT/bench.log" || status=1
mv docs/figures/betavae_traverse_beta*_gpu.png "$OUT/" 2>/dev/null
if ls "$TMP"/runs/stack_*/*/model.safetensors >/dev/null 2>&1; then
  (cd "$TMP/runs" && tar cf - stack_*/*/model.*) | split -b 15m - "$OUT/models.tar."
fi
rm -rf "$TMP"
exit $status
