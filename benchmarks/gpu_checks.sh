#!/usr/bin/env bash
# The GPU checks and benchmarks of one time-boxed device session, in one go (about 6-8 minutes on one H200):
# the `gpu` tests, NER training/inference side by side with the plain recipe (both inference presets), exact
# search over 1M x 384 vectors through the torch path (fp16), and embedding throughput (fp16). Run from the
# repository root with the data at ../shared/data; JSON lines go to LOGDIR.
#
#   bash benchmarks/gpu_checks.sh [LOGDIR]
set -uo pipefail
LOG=${1:-artifacts/gpu-checks}
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv > "$LOG/gpu.txt" 2>&1
timeout 180 python -m pytest -m gpu -q tests/gpu > "$LOG/pytest_gpu.log" 2>&1; echo "pytest -m gpu: rc=$?"
timeout 240 python benchmarks/bench_ner.py --train ../shared/data/conll2003/train.txt \
  --dev ../shared/data/conll2003/valid.txt --max-steps 400 --limit-eval 3250 > "$LOG/bench_ner.json" 2> "$LOG/bench_ner.err"
echo "bench_ner: rc=$?"
timeout 120 python benchmarks/bench_retrieval.py --embed 0 --random 1000000 --backends torch > "$LOG/bench_search.json" 2> "$LOG/bench_search.err"
echo "bench_retrieval search: rc=$?"
timeout 120 python benchmarks/bench_retrieval.py --embed 20000 --batch 512 --random 0 > "$LOG/bench_embed.json" 2> "$LOG/bench_embed.err"
echo "bench_retrieval embed: rc=$?"
tail -n 3 "$LOG"/*.json "$LOG/pytest_gpu.log"
