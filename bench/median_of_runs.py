#!/usr/bin/env python3
"""Median (min–max) per column over runs, for bench/span_ratios.sh and
bench/layer_cost.sh.

usage: median_of_runs.py FILE TITLE FORMAT
  FILE    one run per line: "<run> name=value name=value ..."
  TITLE   printed first, with the number of runs appended
  FORMAT  "ratio" (1.23×) or "us" (+1.23 µs)
"""
import statistics
import sys

path, title, fmt = sys.argv[1:4]
rows = [dict(kv.split("=") for kv in line.split()[1:]) for line in open(path)]
print(f"== {title}, median of {len(rows)} runs (min–max)")
for name in rows[0]:
    v = sorted(float(r[name]) for r in rows)
    if fmt == "ratio":
        print(f"{name:45} {statistics.median(v):.2f}×  ({v[0]:.2f}–{v[-1]:.2f})")
    else:
        print(f"{name:45} {statistics.median(v):+.2f} µs  ({v[0]:+.2f} to {v[-1]:+.2f})")
