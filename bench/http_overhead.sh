#!/usr/bin/env bash
# Requests/s, latency and server CPU per request of a trivial axum route, bare vs
# with megaobs' layers (ObserveLayer + RateLimitLayer), and each layer alone,
# measured with wrk on loopback.
# usage: [TRACING_SAMPLE_RATE=0.1] bench/http_overhead.sh [seconds]   (needs wrk: apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build -q --release -p megaobs --example http_overhead
./target/release/examples/http_overhead 127.0.0.1:18080 127.0.0.1:18081 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
for round in 1 2; do
  for target in bare:18080 both-layers:18081 observe-only:18082 rate-limit-only:18083; do
    name=${target%%:*}; port=${target##*:}
    c0=$(cpu)
    out=$(wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/api/research/1")
    c1=$(cpu)
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    echo "== round $round: $name  server CPU $(( (c1 - c0) * 1000000 / tick / reqs )) µs/request"
    echo "$out" | grep -E "Requests/sec|^ +(50|99)%"
  done
done
