#!/usr/bin/env bash
# Instructions per request of megaobs' HTTP layers, in process, counted by
# valgrind (callgrind): the same count on every run of the same binary, however
# busy the machine is, where time on a shared VM moves by ±15%.
#
# Only the serving loop and the export thread's exports are counted
# (`--toggle-collect`): start-up (tracing, the runtime, the limiter's clock
# calibration, which runs for a time, not a count) is left out. Instructions are
# not time (cache misses, atomics and the kernel are not in them):
# bench/http_overhead.sh measures time.
#
# usage: [TRACING_SAMPLE_RATE=0.1] bench/layer_instructions.sh
#        (needs valgrind: apt-get install -y valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
cargo build -q --release -p megaobs --example layer_instructions
bin=./target/release/examples/layer_instructions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
requests=10000
per_request() { # router, [traceparent] → instructions per request
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    --toggle-collect='layer_instructions::serve' --toggle-collect='*Worker*export*' \
    "$bin" "$1" "$requests" ${2:+"$2"} 2>&1 \
    | awk -v n="$requests" '/Collected :/{print int($NF / n)}'
}
echo "== instructions per request (TRACING_SAMPLE_RATE=${TRACING_SAMPLE_RATE:-0.1})"
bare=$(per_request bare)
echo "bare router        $bare"
for r in observe rate-limit both both-two-calls; do
  n=$(per_request "$r")
  echo "$(printf '%-18s' "$r") $n ($(( n - bare )) more than bare)"
done
sampled="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
n=$(per_request observe "$sampled")
b=$(per_request bare "$sampled")
echo "observe, sampled traceparent  $n ($(( n - b )) more than bare)"
