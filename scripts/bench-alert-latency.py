#!/usr/bin/env python3
"""Measures the time from the arrival of a violating data point to its alert firing (issue 5's bound: one
evaluation interval plus 1 s).

    cargo build --release && python3 scripts/bench-alert-latency.py [--interval 15s] [--trials 8]

Starts target/release/sightline on a fresh data directory with one rule, `latency_probe > 0` (no `for`), in a
group evaluated every INTERVAL. Each trial sends one OTLP/HTTP gauge point of 1 with its own `trial` label, at
a random moment of the evaluation cycle, then polls /api/v1/alerts every 20 ms: the latency is from the export
request's acknowledgement to the first poll that shows the trial's alert firing. Prints every trial, the
median and the maximum. Uses only the standard library.
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TOKEN = "bench-token"
OTLP_HTTP = "127.0.0.1:24318"
API = "127.0.0.1:28080"


def seconds(duration):
    units = {"ms": 0.001, "s": 1, "m": 60}
    for unit in ("ms", "s", "m"):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(f"not a duration: {duration}")


def request(url, body=None):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as answer:
        return json.load(answer) if answer.headers.get("Content-Type", "").startswith("application/json") else None


def send_point(trial):
    now_ns = time.time_ns()
    point = {
        "timeUnixNano": str(now_ns),
        "asDouble": 1.0,
        "attributes": [{"key": "trial", "value": {"stringValue": str(trial)}}],
    }
    body = {
        "resourceMetrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "probe"}}]},
            "scopeMetrics": [{"metrics": [{"name": "latency_probe", "gauge": {"dataPoints": [point]}}]}],
        }]
    }
    request(f"http://{OTLP_HTTP}/v1/metrics", body)


def firing(trial):
    alerts = request(f"http://{API}/api/v1/alerts")["data"]["alerts"]
    return any(a["labels"].get("trial") == str(trial) and a["state"] == "firing" for a in alerts)


def wait_ready(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{API}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("sightline did not become ready")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", default="15s")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--binary", default="target/release/sightline")
    args = parser.parse_args()
    interval = seconds(args.interval)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "probe.rules.yaml").write_text(
            f"groups:\n  - name: probe\n    interval: {args.interval}\n    rules:\n"
            "      - alert: Probe\n        expr: latency_probe > 0\n"
        )
        config = {
            "data_dir": str(work / "data"),
            "otlp": {"grpc": {"listen": "127.0.0.1:24317"}, "http": {"listen": OTLP_HTTP}},
            "http": {"listen": API},
            "auth": {"admin_token": TOKEN},
            "rule_files": ["*.rules.yaml"],
        }
        (work / "sightline.yaml").write_text(json.dumps(config))
        daemon = subprocess.Popen(
            [args.binary, "serve", "--config", str(work / "sightline.yaml")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready()
            latencies = []
            for trial in range(args.trials):
                time.sleep(random.uniform(0, interval))
                send_point(trial)
                sent = time.monotonic()
                while not firing(trial):
                    if time.monotonic() - sent > interval + 30:
                        sys.exit(f"trial {trial}: no alert after {interval + 30:.0f} s")
                    time.sleep(0.02)
                latencies.append(time.monotonic() - sent)
                print(f"trial {trial}: fired {latencies[-1]:.2f} s after the point was acknowledged")
            print(
                f"interval {args.interval}: median {statistics.median(latencies):.2f} s, "
                f"max {max(latencies):.2f} s over {len(latencies)} trials (bound: {interval + 1:.0f} s)"
            )
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
