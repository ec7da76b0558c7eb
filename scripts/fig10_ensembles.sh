#!/bin/bash
# Seed Fig. 10: 100 ABM runs per setting (a, b, c) under both lysis rates (published code,
# paper), into runs/fig10/<setting>-<variant>, at the secretion rates first chosen
# (alpha_phi = gamma_phi = 2.5e-4, 3.5e-4, 5e-4: given explicitly, whatever the scenarios'
# current values); then the re-choice of (b) under the published-code rate, 4e-4
# (runs/fig10/b4-published-code, RECHOICE_RUNS runs). Resumable (rerun after a kill). About
# 25 min per 100-run ensemble on an idle 2-core machine. Then:
#   python scripts/fig10_table.py            # the table of docs/ensembles.md
#   oncoscale ensemble-compare runs/fig10/a-paper runs/fig10/a-published-code \
#       --labels paper,published-code --out runs/fig10/compare-a
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/fig10}
WORKERS=${WORKERS:-2}
mkdir -p "$OUT"
declare -A RATE=([a]=2.5e-4 [b]=3.5e-4 [c]=5e-4)
ensemble() {  # setting variant rate runs folder
  .venv/bin/oncoscale ensemble "oncolytic-secretion-$1" --runs "$4" --variant "$2" \
    --set alpha_phi="$3" --set gamma_phi="$3" \
    --workers "$WORKERS" --resume --no-figures --quiet --out "$OUT/$5" >> "$OUT/log.txt" 2>&1
  echo "done $5 $(date)" >> "$OUT/log.txt"
}
for s in ${SETTINGS:-a b c}; do
  for v in published-code paper; do
    ensemble "$s" "$v" "${RATE[$s]}" 100 "$s-$v"
  done
done
if [ "${RECHOICE_RUNS:-60}" -gt 0 ]; then
  ensemble b published-code 4e-4 "${RECHOICE_RUNS:-60}" b4-published-code
fi
