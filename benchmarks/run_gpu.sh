#!/usr/bin/env bash
# How the shipped extractors in finetune/models/ were trained: one time-boxed GPU session (one H200),
# both models concurrently (a 6-layer encoder leaves the GPU mostly idle). Run from the repository root with
# the data at ../shared/data. Each model card records its own command; this script only runs them together.
#
#   bash benchmarks/run_gpu.sh [LOGDIR]
# NER by distillation (teachers, ensemble or MPNet, into the MiniLM student): benchmarks/gpu_distill.sh.
set -uo pipefail
LOG=${1:-artifacts/gpu}
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
KG=${KG:-kgreason}
# The MetaQA dev questions of all three hops: a seeded 10% slice, stratified by path label, is held out.
$KG finetune split-questions ../shared/data/metaqa/{1,2,3}-hop/qa_dev.txt --holdout 0.1 --seed 0 --out artifacts/metaqa-split
t0=$(date +%s)
$KG finetune questions --train artifacts/metaqa-split/train.txt --dev artifacts/metaqa-split/holdout.txt \
  --out finetune/models/questions --epochs 3 --batch-size 64 --max-seconds 120 > "$LOG/questions.log" 2>&1 &
$KG finetune ner --train ../shared/data/conll2003/train.txt --dev ../shared/data/conll2003/valid.txt \
  --out finetune/models/ner --epochs 5 --context 64 --max-seconds 140 > "$LOG/ner.log" 2>&1 &
wait
echo "trained in $(( $(date +%s) - t0 )) s"
tail -n 4 "$LOG"/*.log
