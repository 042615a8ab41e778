#!/usr/bin/env python3
"""Prints the latest criterion results (target/criterion) of the given groups as a
Markdown table: median ns/op (or ms) and the ratio to a baseline bench per group.

usage: bench/criterion_table.py GROUP[=BASELINE] ...
"""
import json, pathlib, sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"

def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"

print("| group | bench | median | ratio to baseline |\n| --- | --- | --- | --- |")
for arg in sys.argv[1:]:
    group, _, base = arg.partition("=")
    rows = []
    for est in sorted((root / group).glob("**/new/estimates.json")):
        name = str(est.parent.parent.relative_to(root / group))
        rows.append((name, json.loads(est.read_text())["median"]["point_estimate"]))
    base_ns = dict(rows).get(base)
    for name, ns in rows:
        ratio = f"{ns / base_ns:.2f}×" if base_ns else ""
        print(f"| {group} | {name} | {fmt(ns)} | {ratio} |")
