#!/usr/bin/env python3
"""Measures the time from the arrival of a violating data point to its alert firing (issue 5's bound: one
evaluation interval plus 1 s), or with --webhook to the webhook request that notifies it (issue 6's bound: the
interval plus group_wait plus 1 s).

    cargo build --release && python3 scripts/bench-alert-latency.py [--interval 15s] [--trials 8]
    cargo build --release && python3 scripts/bench-alert-latency.py --webhook --group-wait 10s

Starts target/release/sightline on a fresh data directory with one rule, `latency_probe > 0` (no `for`), in a
group evaluated every INTERVAL. Each trial sends one OTLP/HTTP gauge point of 1 with its own `trial` label, at
a random moment of the evaluation cycle, then polls /api/v1/alerts every 20 ms: the latency is from the export
request's acknowledgement to the first poll that shows the trial's alert firing. Prints every trial, the
median and the maximum. With --webhook, the daemon notifies a webhook receiver this script serves (one group
per trial, so every trial waits its group's group_wait), and the latency ends when the request arrives. Uses only
the standard library.
"""
import argparse
import http.server
import json
import threading
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
WEBHOOK = ("127.0.0.1", 28099)

# When each trial's firing notification arrived at the webhook receiver (monotonic seconds).
notified = {}


class Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = time.monotonic()
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for alert in payload["alerts"]:
            if alert["status"] == "firing":
                notified.setdefault(alert["labels"].get("trial"), arrived)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


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
    parser.add_argument("--webhook", action="store_true", help="measure until the webhook request")
    parser.add_argument("--group-wait", default="10s")
    args = parser.parse_args()
    interval = seconds(args.interval)
    bound = interval + 1 + (seconds(args.group_wait) if args.webhook else 0)
    if args.webhook:
        server = http.server.ThreadingHTTPServer(WEBHOOK, Webhook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
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
        if args.webhook:
            (work / "alertmanager.yml").write_text(
                f"route:\n  receiver: hook\n  group_by: [trial]\n  group_wait: {args.group_wait}\n"
                f"receivers:\n  - name: hook\n    webhook_configs:\n"
                f"      - url: http://{WEBHOOK[0]}:{WEBHOOK[1]}/hook\n"
            )
            config["notifications_file"] = "alertmanager.yml"
            config["outbound"] = {"allow": [WEBHOOK[0]]}
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
                done = (lambda: str(trial) in notified) if args.webhook else (lambda: firing(trial))
                while not done():
                    if time.monotonic() - sent > bound + 30:
                        sys.exit(f"trial {trial}: nothing after {bound + 30:.0f} s")
                    time.sleep(0.02)
                arrived = notified[str(trial)] if args.webhook else time.monotonic()
                latencies.append(arrived - sent)
                what = "notified" if args.webhook else "fired"
                print(f"trial {trial}: {what} {latencies[-1]:.2f} s after the point was acknowledged")
            print(
                f"interval {args.interval}: median {statistics.median(latencies):.2f} s, "
                f"max {max(latencies):.2f} s over {len(latencies)} trials (bound: {bound:.0f} s)"
            )
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
