#!/usr/bin/env python3
"""CPU cost of the example's instrumentation per workflow request.

Runs the release example with its built-in load (same --rps, same --duration)
in three configurations, alternating, and reports the process's CPU time
(user + system, from getrusage of the child) per HTTP request served:
  shipped   : the defaults (console trace exporter, 10% sampled; INFO JSON logs)
  traced    : every request traced (TRACING_SAMPLE_RATE=1.0), INFO logs
  bare      : TRACING_ENABLED=false, LOG_LEVEL=WARN (metrics stay on)
The load generator runs in the same process in every configuration, so the
differences are the cost of tracing + logging per request.

usage: bench/workflow_cost.py [--rps 100] [--duration 20] [--rounds 2]
(build first: cargo build --release -p megaobs --example observability_example)
"""
import argparse, os, re, resource, subprocess, tempfile

CONFIGS = {
    "shipped": {},
    "traced": {"TRACING_SAMPLE_RATE": "1.0"},
    "bare": {"TRACING_ENABLED": "false", "LOG_LEVEL": "WARN"},
}

def run(binary, rps, duration, extra):
    env = dict(os.environ)
    for k in ("TRACING_SAMPLE_RATE", "TRACING_ENABLED", "LOG_LEVEL", "TRACING_EXPORTER"):
        env.pop(k, None)
    env.update(extra)
    with tempfile.TemporaryDirectory() as logs:
        env["LOG_DIR"] = logs
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            [binary, "--listen", "127.0.0.1:0", "--rps", str(rps), "--duration", str(duration)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counts = re.findall(r"status: (\d+) requests", out)
    if not counts:
        raise SystemExit("no status line in the example's output")
    return cpu, int(counts[-1])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rps", type=float, default=100)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples", "observability_example")
    results = {k: [] for k in CONFIGS}
    for r in range(a.rounds):
        for name, extra in CONFIGS.items():
            cpu, reqs = run(binary, a.rps, a.duration, extra)
            results[name].append((cpu, reqs))
            print(f"round {r + 1} {name:8}: {cpu:.2f} s CPU, {reqs} requests, {cpu / reqs * 1e6:.0f} µs/request")
    print()
    print("| configuration | CPU µs per request (median of rounds) | vs bare |")
    print("| --- | --- | --- |")
    med = {}
    for name, rs in results.items():
        per = sorted(c / n * 1e6 for c, n in rs)
        med[name] = per[len(per) // 2]
    for name in CONFIGS:
        print(f"| {name} | {med[name]:.0f} | {med[name] - med['bare']:+.0f} µs |")

if __name__ == "__main__":
    main()
