#!/usr/bin/env bash
# The measured sensitivity findings of docs/studies.md, exactly as run (outputs in $OUT).
# Each is one `oncoscale sensitivity` / `oncoscale study` call; costs are in the docs.
set -euo pipefail
OUT=${OUT:-runs/findings}
W=${WORKERS:-2}
ONCO_RATES=(--param p=0.006:0.056:log --param beta=0.034:0.31:log --param q=0.0028:0.025:log
  --param zeta=0.17:1.5:log --param alpha_z=1.25e-5:1.1e-4:log --param q_z=0.0025:0.0225:log
  --param S0=0.017:0.15:log)
ERAD=(--qoi eradication.eradicated --qoi eradication.time_to_relapse --qoi eradication.nadir)
step=${1:-all}

# 1. oncolytic ODE, 7 rates (each a factor 3 either side of Table 2), Sobol N = 512 (4608 runs)
if [[ $step == all || $step == ode ]]; then
  oncoscale sensitivity oncolytic-central --model ode --t-end 2000 \
    --set output.observe_interval=5 --set output.snapshot_interval=2000 \
    "${ONCO_RATES[@]}" "${ERAD[@]}" --method sobol --samples 512 --workers "$W" \
    --out "$OUT/ode-sobol" --quiet
fi
# 2. oncolytic radial PDE, the same 7 rates, Morris r = 10 (80 runs), dr = 0.1 mm, to 1500 h
if [[ $step == all || $step == pde ]]; then
  oncoscale sensitivity oncolytic-central --model pde-radial --t-end 1500 \
    --set numerics.dr=0.1 --set output.observe_interval=5 --set output.snapshot_interval=1500 \
    "${ONCO_RATES[@]}" "${ERAD[@]}" --method morris --samples 10 --workers "$W" \
    --out "$OUT/pde-morris" --quiet
fi
# 3. kinetic PC window set, homogeneous ODE, Morris r = 10, rates ±10 % (the coexistence state
#    E4 the scenario starts from exists only in a narrow box). Linear reduction (8 rates, to
#    t = 20: it escapes, and escaping runs get stiff later); self-diffusion reduction (6 rates:
#    its closure ties b22 = b32, which a box cannot vary independently), to t = 50.
if [[ $step == all || $step == kinetic ]]; then
  RATES6=(--param b13=4.55:5.5:log --param d12=2.73:3.3:log --param d21=2.73:3.3:log
    --param d35=1.82:2.2:log --param a35=0.455:0.55:log --param kappa2=0.273:0.33:log)
  N1=(--qoi outcome.log10_final --qoi outcome.escaped --qoi-option outcome.observable=n1)
  oncoscale sensitivity kinetic-pc-window --model ode --t-end 20 --set reduction=linear \
    "${RATES6[@]}" --param b32=0.455:0.55:log --param b22=0.455:0.55:log "${N1[@]}" \
    --method morris --samples 10 --workers "$W" --out "$OUT/kinetic-linear-morris" --quiet
  oncoscale sensitivity kinetic-pc-window --model ode --t-end 50 --set reduction=self \
    "${RATES6[@]}" "${N1[@]}" --method morris --samples 10 --workers "$W" \
    --out "$OUT/kinetic-self-morris" --quiet
fi
# 4. invasion, age-structured PDE in 2D at dx = 0.5 to t = 10 days, heterogeneous matrix:
#    ring speed and front roughness over haptotaxis, motility and the matrix peaks (LHS 12)
if [[ $step == all || $step == invasion ]]; then
  oncoscale study invasion-heterogeneous --model pde --t-end 10 --set numerics.dx=0.5 \
    --set output.snapshot_interval=2 --param rho=0.002:0.2:log --param D_n=5e-5:5e-3:log \
    --param f_peak=0:0.9 --qoi invasion_front.ring_speed --qoi invasion_front.roughness_cv \
    --qoi invasion_front.finger_share --design lhs --samples 12 --workers "$W" \
    --out "$OUT/invasion-lhs" --quiet
fi
# 5. protocol optimisation (docs example): the re-injection threshold minimising ∫ tumour dt
#    over [0, 3000] h in the radial PDE (dr = 0.1 mm), then the ABM at and around the optimum
if [[ $step == all || $step == optimise ]]; then
  oncoscale optimise oncolytic-threshold-injection --model pde-radial --set numerics.dr=0.1 \
    --set output.snapshot_interval=500 --protocol-param protocol.0.threshold=2e4:2e5:log \
    --objective tumour_burden.integral_cells_h --screen 6 --max-evaluations 16 \
    --workers "$W" --out "$OUT/optimise-threshold" --quiet
fi
if [[ $step == abm-check ]]; then  # THRESHOLDS="lo:hi" around the PDE optimum, 3 levels
  oncoscale study oncolytic-threshold-injection --model abm --set output.snapshot_interval=500 \
    --param protocol.0.threshold=${THRESHOLDS}:log --design grid --levels 3 --replicates 2 \
    --qoi tumour_burden.integral_cells_h --qoi tumour_burden.injections --workers "$W" \
    --out "$OUT/abm-threshold" --quiet
fi
