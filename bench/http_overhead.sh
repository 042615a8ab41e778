#!/usr/bin/env bash
# Requests/s and latency of a trivial axum route, bare vs with megaobs' layers
# (ObserveLayer + RateLimitLayer, spans sampled), measured with wrk on loopback.
# usage: [TRACING_SAMPLE_RATE=0.1] bench/http_overhead.sh [seconds]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build -q --release -p megaobs --example http_overhead
./target/release/examples/http_overhead 127.0.0.1:18080 127.0.0.1:18081 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
for round in 1 2; do
  for target in bare:18080 observed:18081; do
    name=${target%%:*}; port=${target##*:}
    echo "== round $round: $name"
    wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/api/research/1" | grep -E "Requests/sec|^ +(50|99)%"
  done
done
