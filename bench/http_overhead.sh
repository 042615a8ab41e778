#!/usr/bin/env bash
# Requests/s, latency and server CPU per request of a trivial axum route, bare vs
# with megaobs' layers (ObserveLayer + RateLimitLayer), and each layer alone,
# measured with wrk on loopback.
#
# usage: [TRACING_SAMPLE_RATE=0.1] bench/http_overhead.sh [seconds per run] [rounds]
#        (needs wrk: apt-get install -y wrk)
#
# On a small machine wrk and the server share the cores and throughput moves ±15%
# between identical runs, so the servers are measured in alternation for several
# rounds and the summary gives medians, and the ratio of the medians to bare.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-4}"
rounds="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build -q --release -p megaobs --example http_overhead
./target/release/examples/http_overhead 127.0.0.1:18080 127.0.0.1:18081 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
sys_cpu() { awk '{print $15}' "/proc/$pid/stat"; }
results=$(mktemp)
for round in $(seq "$rounds"); do
  for target in bare:18080 both-layers:18081 observe-only:18082 rate-limit-only:18083; do
    name=${target%%:*}; port=${target##*:}
    c0=$(cpu); k0=$(sys_cpu)
    out=$(wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/api/research/1")
    c1=$(cpu); k1=$(sys_cpu)
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    cpu_us=$(awk -v c=$((c1 - c0)) -v t="$tick" -v r="$reqs" 'BEGIN{printf "%.1f", c * 1e6 / t / r}')
    sys_us=$(awk -v c=$((k1 - k0)) -v t="$tick" -v r="$reqs" 'BEGIN{printf "%.1f", c * 1e6 / t / r}')
    echo "round $round  $name  $rps req/s  p50 $p50  p99 $p99  server CPU $cpu_us µs/request (kernel $sys_us)"
    echo "$name $rps $cpu_us $sys_us" >> "$results"
  done
done
echo "== medians over $rounds rounds (TRACING_SAMPLE_RATE=${TRACING_SAMPLE_RATE:-1.0})"
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = list(dict.fromkeys(r[0] for r in rows))
med = {n: tuple(statistics.median(float(r[i]) for r in rows if r[0] == n) for i in (1, 2, 3))
       for n in names}
bare_rps, bare_cpu, bare_sys = med["bare"]
for n in names:
    rps, cpu, sys_ = med[n]
    print(f"{n:16} {rps:9.0f} req/s ({rps / bare_rps - 1:+.1%})  {cpu:5.1f} µs CPU/request "
          f"({cpu - bare_cpu:+.1f}; user {cpu - sys_ - (bare_cpu - bare_sys):+.1f}, kernel {sys_ - bare_sys:+.1f})")
PY
rm -f "$results"
