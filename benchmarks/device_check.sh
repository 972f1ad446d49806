#!/usr/bin/env bash
# The CUDA path in one short run (about 8 minutes), for a machine with a GPU:
#   1. tests/test_device.py on the GPU: every model's tensor path against the CPU;
#   2. the beta-VAE's training speed on the GPU (genlab disentangle train, bfloat16
#      autocast where native), one process alone and then four side by side, which says
#      how many of the literature's 300,000-step runs one GPU holds at once;
#   3. one bench_betavae.py run on the GPU, trained and scored as the CPU runs in
#      benchmarks/RESULTS.md are (a short budget: the scores are a smoke check).
# Six files go to $OUT (default device-check/): env.txt, tests.log, speed.json,
# bench.log, betavae_cuda.json and the run's traversal figure. Needs torch with CUDA, numpy,
# matplotlib, safetensors, tqdm, scikit-learn and pytest; genlab runs from src/.
#
#     bash benchmarks/device_check.sh
#
# DEVICE, STEPS (speed runs), BENCH_STEPS and VOTES override the defaults cuda, 2000,
# 3000 and 1000,
# e.g. DEVICE=cpu STEPS=20 BENCH_STEPS=20 VOTES=20 for a dry run of the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device-check}
mkdir -p "$OUT"
TMP=$(mktemp -d)  # the speed runs' folders and logs; $OUT keeps six files
export PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda} STEPS=${STEPS:-2000} BENCH_STEPS=${BENCH_STEPS:-3000} VOTES=${VOTES:-1000}
status=0

$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
      torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')" \
  2>&1 | tee "$OUT/env.txt"

echo "== 1. tests/test_device.py on $DEVICE"
GENLAB_TEST_DEVICE=$DEVICE timeout 240 $PY -m pytest -q -rs tests/test_device.py 2>&1 \
  | tee "$OUT/tests.log" || status=1

echo "== 2. beta-VAE training speed: one process, then four side by side"
train() {  # train pN: STEPS steps of 64 on DEVICE with seed N, its JSON in speed_pN.json
  timeout 150 $PY -m genlab disentangle train --beta 4 --steps "$STEPS" --lr 1e-4 \
    --checkpoint-every 0 --device "$DEVICE" --seed "${1#p}" --out "$TMP/run_$1" --json \
    > "$TMP/speed_$1.json" 2> "$TMP/speed_$1.err"
}
train p0 || status=1
for i in 1 2 3 4; do train "p$i" & done
wait
$PY - "$TMP" "$OUT" <<'EOF'
import json, pathlib, sys
tmp, out = map(pathlib.Path, sys.argv[1:])
rows = {}
for name in ["p0", "p1", "p2", "p3", "p4"]:
    try:
        rows[name] = json.loads((tmp / f"speed_{name}.json").read_text())["images_per_second"]
    except (OSError, ValueError, KeyError) as err:
        lines = (tmp / f"speed_{name}.err").read_text().strip().splitlines()
        rows[name] = f"failed ({err}): {lines[-1] if lines else ''}"
print(f"alone: {rows['p0']} images/s")
print("four side by side:", ", ".join(str(rows[f"p{i}"]) for i in range(1, 5)), "images/s")
json.dump(rows, open(out / "speed.json", "w"), indent=1)
EOF
rm -rf "$TMP"

echo "== 3. bench_betavae.py on $DEVICE ($BENCH_STEPS steps of 64, seed 0)"
timeout 200 $PY benchmarks/bench_betavae.py --device "$DEVICE" --steps "$BENCH_STEPS" --batch-size 64 \
  --lr 0.0001 --betas 4 --seeds 0 --init-bias --votes "$VOTES" --threads 4 --tag _cuda_check \
  --out "$OUT/betavae_cuda.json" 2>&1 | tee "$OUT/bench.log" || status=1
mv docs/figures/betavae_traverse_beta4_cuda_check.png "$OUT/" 2>/dev/null
exit $status
