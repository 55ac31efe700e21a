#!/usr/bin/env bash
# Bench: offline high gamma, Rust (`neurovox-tools hg`) vs the scipy reference
# (tools/reference/highgamma.py), whole command including NPY I/O, single thread,
# 128 channels × 60 s of synthetic ECoG at 3051.7578125 Hz. Best of N runs each. Prints JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CHANNELS=${CHANNELS:-128}
SECONDS_OF_DATA=${SECONDS_OF_DATA:-60}
PY=${NEUROVOX_PYTHON:-.venv/bin/python}
cargo build --release -q -p neurovox-tools
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
target/release/neurovox-tools --log warn simulate --channels "$CHANNELS" --seconds "$SECONDS_OF_DATA" --seed 1 --out "$dir"
bad=$("$PY" -c "import json,sys; print(','.join(str(b['channel']) for b in json.load(open(sys.argv[1]))['bad']))" "$dir/truth.json")
best() { # best wall time in seconds of "$@" over $RUNS runs
  local best=1e9
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    best=$(echo "$t1 - $t0" | bc -l | awk -v b="$best" '{print ($1 < b) ? $1 : b}')
  done
  echo "$best"
}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
rust=$(best target/release/neurovox-tools --log warn hg --input "$dir/ecog.npy" --bad "$bad" --out "$dir/hg_rust.npy")
scipy=$(best "$PY" tools/reference/highgamma.py --input "$dir/ecog.npy" --bad "$bad" --out "$dir/hg_scipy.npy")
check=$("$PY" - "$dir/hg_rust.npy" "$dir/hg_scipy.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
g = ~np.isnan(b[0])
r = min(np.corrcoef(a[:, c], b[:, c])[0, 1] for c in np.where(g)[0])
print(f'"min_r": {r:.7f}, "max_abs_diff": {np.abs(a[:, g] - b[:, g]).max():.3g}')
PY
)
speedup=$(echo "$scipy / $rust" | bc -l)
printf '{"bench": "offline_hg", "channels": %d, "seconds": %d, "rust_s": %.3f, "scipy_s": %.3f, "speedup": %.1f, %s}\n' \
  "$CHANNELS" "$SECONDS_OF_DATA" "$rust" "$scipy" "$speedup" "$check"
