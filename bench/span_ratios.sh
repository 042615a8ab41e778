#!/usr/bin/env bash
# Ratios of a megaobs sampled span to its peers, from the interleaved bench group
# (`span_sampled_interleaved` in benches/tracing.rs), over several runs: single
# runs on a small, shared machine move by ±30%, the median of the ratios much less.
#
# usage: bench/span_ratios.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
out=$(mktemp)
for r in $(seq "$runs"); do
  cargo bench -q -p megaobs --bench tracing -- span_sampled_interleaved >/dev/null 2>&1
  python3 - "$r" >>"$out" <<'PY'
import json, sys
base = "target/criterion/span_sampled_interleaved/"
def median(name):
    return json.load(open(f"{base}{name}/new/estimates.json"))["median"]["point_estimate"]
pairs = [("raw_opentelemetry_sdk", "megaobs_tracing_context"),
         ("raw_opentelemetry_sdk_made_current", "megaobs_tracing_context_vs_current"),
         ("tracing_opentelemetry", "megaobs_tracing_context_vs_tracing")]
print(sys.argv[1], *(f"{peer}={median(mine) / median(peer):.3f}" for peer, mine in pairs))
PY
  tail -1 "$out"
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(sys.argv[1])]
print(f"== megaobs TracingContext ÷ peer, median of {len(rows)} runs (min–max)")
for peer in rows[0]:
    v = sorted(float(r[peer]) for r in rows)
    print(f"{peer:36} {statistics.median(v):.2f}×  ({v[0]:.2f}–{v[-1]:.2f})")
PY
rm -f "$out"
