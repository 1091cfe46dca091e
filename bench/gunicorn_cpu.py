"""gunicorn config for the load test (bench/load_test.py): each request's CPU seconds,
read from its worker thread's clock (gthread, one thread per worker), appended to
$BENCH_CPU_LOG.<pid> with the endpoint name the load generator sends in X-Bench-Name."""

from __future__ import annotations

import json
import os
import time


def pre_request(worker, req) -> None:
    req.bench_cpu = time.thread_time()


def post_request(worker, req, environ, resp) -> None:
    cpu = time.thread_time() - getattr(req, "bench_cpu", time.thread_time())
    name = next((v for k, v in req.headers if k == "X-BENCH-NAME"), f"{req.method} {req.path}")
    with open(f"{os.environ['BENCH_CPU_LOG']}.{os.getpid()}", "a") as log:
        log.write(json.dumps([time.time(), name, cpu]) + "\n")
