#!/bin/bash
# Seed Fig. 10: 100 ABM runs per setting (a, b, c) under both lysis rates (published code,
# paper), into runs/fig10/<setting>-<variant>; resumable (rerun after a kill). About 25 min per
# ensemble on an idle 2-core machine. Then, e.g.:
#   oncoscale ensemble-compare runs/fig10/a-paper runs/fig10/a-published-code \
#       --labels paper,published-code --out runs/fig10/compare-a
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/fig10}
WORKERS=${WORKERS:-2}
mkdir -p "$OUT"
for s in ${SETTINGS:-a b c}; do
  for v in published-code paper; do
    .venv/bin/oncoscale ensemble "oncolytic-secretion-$s" --runs 100 --variant "$v" \
      --workers "$WORKERS" --resume --no-figures --quiet --out "$OUT/$s-$v" >> "$OUT/log.txt" 2>&1
    echo "done $s $v $(date)" >> "$OUT/log.txt"
  done
done
