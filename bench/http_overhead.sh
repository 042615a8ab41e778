#!/usr/bin/env bash
# Requests/s, latency and server CPU per request of a trivial axum route, bare vs
# with megaobs' layers (ObserveLayer + RateLimitLayer), and each layer alone,
# measured with wrk on loopback.
#
# usage: [TRACING_SAMPLE_RATE=0.1] bench/http_overhead.sh [seconds per run] [rounds]
#        (needs wrk: apt-get install -y wrk)
#
# How it stays comparable on a small, shared VM:
# - The server is pinned to the last CPU and wrk to the others (with one CPU,
#   both share it), so the two do not take each other's core.
# - Runs alternate bare, X, bare, Y, bare, … and each run of X is compared with
#   the mean of the bare runs just before and after it: the machine's speed
#   drifts by ±15% over tens of seconds, much less between neighbouring runs.
#   The summary gives the median of those ratios.
# - The server's user and kernel CPU per request (/proc) are reported too: the
#   layers' own work is user time; kernel time is the loopback TCP stack.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-2}"
rounds="${2:-8}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build -q --release -p megaobs --example http_overhead
last=$(( $(nproc) - 1 ))
if [ "$last" -gt 0 ]; then server_cpus="$last"; wrk_cpus="0-$(( last - 1 ))"; else server_cpus=0; wrk_cpus=0; fi
taskset -c "$server_cpus" ./target/release/examples/http_overhead 127.0.0.1:18080 127.0.0.1:18081 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
tick=$(getconf CLK_TCK)
results=$(mktemp)
# One wrk run against `port`; appends "name rps p99 user_us kernel_us" to $results.
run() {
  local name=$1 port=$2
  read -r u0 k0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  local out
  out=$(taskset -c "$wrk_cpus" wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/api/research/1")
  read -r u1 k1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  local reqs rps p99
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  awk -v n="$name" -v r="$rps" -v p="$p99" -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v t="$tick" -v q="$reqs" \
    'BEGIN{printf "%s %s %s %.2f %.2f\n", n, r, p, u * 1e6 / t / q, k * 1e6 / t / q}' | tee -a "$results"
}
run bare 18080
for round in $(seq "$rounds"); do
  for target in both-layers:18081 observe-only:18082 rate-limit-only:18083; do
    run "${target%%:*}" "${target##*:}"
    run bare 18080
  done
done
dropped=$(curl -s http://127.0.0.1:18084/metrics | awk '/^otel_spans_dropped_total/{s += $2} END{print s + 0}')
echo "== $rounds rounds of ${secs}s (TRACING_SAMPLE_RATE=${TRACING_SAMPLE_RATE:-1.0}); server on CPU $server_cpus, wrk on CPU $wrk_cpus; spans dropped: $dropped"
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
# Each non-bare run sits between two bare runs: compare it with their mean.
ratios, cpu = {}, {}
for i, r in enumerate(rows):
    if r[0] == "bare":
        continue
    before, after = rows[i - 1], rows[i + 1]
    ratios.setdefault(r[0], []).append(float(r[1]) / ((float(before[1]) + float(after[1])) / 2))
    for j, what in ((3, "user"), (4, "kernel")):
        base = (float(before[j]) + float(after[j])) / 2
        cpu.setdefault((r[0], what), []).append(float(r[j]) - base)
bare = [r for r in rows if r[0] == "bare"]
print(f"{'bare':16} {statistics.median(float(r[1]) for r in bare):9.0f} req/s  "
      f"CPU/request: user {statistics.median(float(r[3]) for r in bare):.2f} µs, "
      f"kernel {statistics.median(float(r[4]) for r in bare):.2f} µs")
for name, rs in ratios.items():
    print(f"{name:16} {statistics.median(rs) - 1:+6.1%} req/s vs neighbouring bare runs "
          f"(runs: {min(rs) - 1:+.0%} … {max(rs) - 1:+.0%})  "
          f"CPU/request: user {statistics.median(cpu[(name, 'user')]):+.2f} µs, "
          f"kernel {statistics.median(cpu[(name, 'kernel')]):+.2f} µs")
PY
rm -f "$results"
