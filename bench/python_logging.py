#!/usr/bin/env python3
"""The seed's Python logging stack, for the logging benchmark's third column.

python-json-logger's JsonFormatter + logging.handlers.RotatingFileHandler (10 MiB x 5),
one INFO line with 3 extra fields, as the seed's `logger.info("...", extra={...})`.
Prints the mean ns per line over N lines (after a warm-up).

usage: pip install python-json-logger && python3 bench/python_logging.py [N]
"""
import logging
import logging.handlers
import sys
import tempfile
import time

try:
    from pythonjsonlogger.json import JsonFormatter
except ImportError:  # older python-json-logger
    from pythonjsonlogger.jsonlogger import JsonFormatter

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
with tempfile.TemporaryDirectory() as d:
    handler = logging.handlers.RotatingFileHandler(f"{d}/bench.log", maxBytes=10 * 1024 * 1024, backupCount=5)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(module)s %(funcName)s %(lineno)d"))
    log = logging.getLogger("core.workflows.research")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    extra = {"user_id": "123", "latency_ms": 2.5, "cache_hit": True}
    for _ in range(10_000):
        log.info("Processing query", extra=extra)
    start = time.perf_counter_ns()
    for _ in range(n):
        log.info("Processing query", extra=extra)
    per_line = (time.perf_counter_ns() - start) / n
    start = time.perf_counter_ns()
    for _ in range(n):
        log.debug("not logged", extra=extra)
    filtered = (time.perf_counter_ns() - start) / n
print(f"python-json-logger + RotatingFileHandler: {per_line:.0f} ns/line; filtered-out debug: {filtered:.0f} ns")
