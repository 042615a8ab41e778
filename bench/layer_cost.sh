#!/usr/bin/env bash
# CPU cost of ObserveLayer per request, in process (benches/http.rs), over runs.
#
# Each bench of a pair calls the bare router and the observed one in alternating
# blocks and records both CPU times over the same window (`pair_cpu_ns.txt`):
# the cost printed is (observed − bare) ÷ requests over those shared windows.
#
# usage: bench/layer_cost.sh [runs]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out=$(mktemp)
groups="http_request_tracing_off http_request_root_rate_0.1 http_request_unsampled_parent http_request_sampled_parent"
for r in $(seq "$runs"); do
  for g in $groups; do rm -f "target/criterion/$g/pair_cpu_ns.txt"; done
  cargo bench -q -p megaobs --bench http >/dev/null 2>&1
  python3 - "$r" $groups >>"$out" <<'PY'
import sys
cols = []
for g in sys.argv[2:]:
    a = b = n = 0
    for line in open(f"target/criterion/{g}/pair_cpu_ns.txt"):
        _name, x, y, k = line.split()
        a, b, n = a + int(x), b + int(y), n + int(k)
    cols.append(f"{g}={(b - a) / n / 1000:.3f}")
print(sys.argv[1], *cols)
PY
  tail -1 "$out"
done
python3 bench/median_of_runs.py "$out" "ObserveLayer's CPU per request (µs, observed − bare, same windows)" us
rm -f "$out"
