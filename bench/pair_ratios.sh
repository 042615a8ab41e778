#!/usr/bin/env bash
# Same-window ratios of interleaved bench pairs (`common::interleaved`), over runs:
# for each group, kind 1's CPU time ÷ kind 0's over the same windows, and the
# CPU per operation of each kind.
#
# usage: bench/pair_ratios.sh BENCH RUNS GROUP...
#   bench/pair_ratios.sh rate_limit 3 rate_limit_megaobs rate_limit_previous_governor
#   bench/pair_ratios.sh logging 3 value_redaction_line_in_span
set -euo pipefail
cd "$(dirname "$0")/.."
bench="$1"; runs="$2"; shift 2
out=$(mktemp)
for r in $(seq "$runs"); do
  for g in "$@"; do rm -f "target/criterion/$g/pair_cpu_ns.txt"; done
  filter=$(IFS="|"; echo "$*")
  cargo bench -q -p megaobs --bench "$bench" -- "$filter" >/dev/null 2>&1
  python3 - "$r" "$@" >>"$out" <<'PY'
import sys
cols = []
for g in sys.argv[2:]:
    a = b = n = 0
    for line in open(f"target/criterion/{g}/pair_cpu_ns.txt"):
        _name, x, y, k = line.split()
        a, b, n = a + int(x), b + int(y), n + int(k)
    cols.append(f"{g}:ratio={b / a:.3f}")
    cols.append(f"{g}:kind0_ns={a / n:.1f}")
    cols.append(f"{g}:kind1_ns={b / n:.1f}")
print(sys.argv[1], *cols)
PY
  tail -1 "$out"
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in line.split()[1:]) for line in open(sys.argv[1])]
print(f"== median of {len(rows)} runs (min–max)")
for name in rows[0]:
    v = sorted(float(r[name]) for r in rows)
    print(f"{name:60} {statistics.median(v):10.3f}  ({v[0]:.3f}–{v[-1]:.3f})")
PY
