#!/usr/bin/env bash
# Ratios of a megaobs sampled span to its peers, from the interleaved bench group
# (`span_sampled_interleaved` in benches/tracing.rs), over several runs.
#
# Each bench of a pair runs both kinds in alternating blocks and records both
# kinds' CPU time over the same window (`pair_cpu_ns.txt`): the ratio printed is
# megaobs' total ÷ the peer's total over those shared windows, which the machine's
# drift between benches (±30% on a small VM) does not skew. Criterion's per-bench
# medians are printed alongside, as "separate windows".
#
# usage: bench/span_ratios.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
out=$(mktemp)
pairs_file=target/criterion/span_sampled_interleaved/pair_cpu_ns.txt
for r in $(seq "$runs"); do
  rm -f "$pairs_file"
  cargo bench -q -p megaobs --bench tracing -- span_sampled_interleaved >/dev/null 2>&1
  python3 - "$r" "$pairs_file" >>"$out" <<'PY'
import collections, json, sys
base = "target/criterion/span_sampled_interleaved/"
def median(name):
    return json.load(open(f"{base}{name}/new/estimates.json"))["median"]["point_estimate"]
# Lines: "{peer} {bench} {peer_ns} {megaobs_ns} {iterations}" (kind 0 is the peer).
same = collections.defaultdict(lambda: [0, 0])
for line in open(sys.argv[2]):
    peer, _bench, a, b, _n = line.split()
    same[peer][0] += int(a)
    same[peer][1] += int(b)
pairs = [("raw_opentelemetry_sdk", "megaobs_tracing_context"),
         ("raw_opentelemetry_sdk_made_current", "megaobs_tracing_context_vs_current"),
         ("tracing_opentelemetry", "megaobs_tracing_context_vs_tracing"),
         # No megaobs here: the SDK span made current ÷ the raw SDK span.
         ("raw_opentelemetry_sdk_baseline", "raw_opentelemetry_sdk_made_current_vs_raw")]
print(sys.argv[1],
      *(f"{peer}={same[peer][1] / same[peer][0]:.3f}" for peer, _ in pairs),
      *(f"separate:{peer}={median(mine) / median(peer):.3f}" for peer, mine in pairs))
PY
  tail -1 "$out"
done
python3 bench/median_of_runs.py "$out" "megaobs TracingContext ÷ peer (last row: SDK span made current ÷ raw SDK span)" ratio
rm -f "$out"
