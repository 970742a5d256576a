"""`pacer-bridge bench` against `pacer-bridge serve --policy noop` and against the Python
reference bridge (bench/reference_bridge.py), with 1, 10, 100 and 1000 concurrent
applications, in one run.

Usage: .venv/spark-3.5/bin/python bench/bridge_throughput.py [--seconds 10] [--apps 1,10,100,1000]
Needs target/release/pacer-bridge (cargo build --release -p pacer-bridge).
"""

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "target" / "release" / "pacer-bridge"


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "tcp://127.0.0.1:%d" % s.getsockname()[1]


def wait_listening(endpoint, timeout=10):
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("nothing listens on %s" % endpoint)


def load(endpoint, apps, seconds, think_ms=0):
    out = subprocess.run(
        [str(BRIDGE), "bench", "--connect", endpoint, "--apps", str(apps), "--seconds", str(seconds),
         "--think-ms", str(think_ms), "--format", "json"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def serve_pacer(workdir):
    endpoint = free_endpoint()
    process = subprocess.Popen(
        [str(BRIDGE), "serve", "--bind", endpoint, "--policy", "noop", "--db", str(workdir / "bench.db"),
         "--log-level", "warn"])
    wait_listening(endpoint)
    return endpoint, process


def serve_reference():
    endpoint = free_endpoint()
    process = subprocess.Popen([sys.executable, str(REPO / "bench" / "reference_bridge.py"), endpoint])
    wait_listening(endpoint)
    return endpoint, process


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--apps", default="1,10,100,1000")
    parser.add_argument("--paced-think-ms", type=int, default=10,
                        help="also run 100 applications that pause this long between events")
    args = parser.parse_args()
    if not BRIDGE.exists():
        sys.exit("build it first: cargo build --release -p pacer-bridge")
    counts = [int(a) for a in args.apps.split(",")]
    results = {}
    paced = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, start in (("pacer-bridge (noop)", lambda: serve_pacer(Path(tmp))), ("python reference", serve_reference)):
            for apps in counts:
                endpoint, process = start()
                try:
                    results[(name, apps)] = load(endpoint, apps, args.seconds)
                finally:
                    stop(process)
                r = results[(name, apps)]
                print("%-20s apps %5d: %9.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  errors %d" % (
                    name, apps, r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["errors"]), flush=True)
            endpoint, process = start()
            try:
                paced[name] = load(endpoint, 100, args.seconds, args.paced_think_ms)
            finally:
                stop(process)
    print()
    print("| apps | pacer-bridge msg/s | p50 ms | p99 ms | max ms | errors | reference msg/s | p50 ms | p99 ms | max ms | errors | throughput × |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for apps in counts:
        p = results[("pacer-bridge (noop)", apps)]
        r = results[("python reference", apps)]
        print("| %d | %.0f | %.3f | %.3f | %.3f | %d | %.0f | %.3f | %.3f | %.3f | %d | %.1f |" % (
            apps, p["messages_per_s"], p["p50_ms"], p["p99_ms"], p["max_ms"], p["errors"],
            r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["errors"],
            p["messages_per_s"] / max(r["messages_per_s"], 1e-9)))
    print()
    print("100 applications pausing %d ms (0.5-1.5x) between events:" % args.paced_think_ms)
    print("| server | msg/s | p50 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|")
    for name, r in paced.items():
        print("| %s | %.0f | %.3f | %.3f | %.3f | %d |" % (
            name, r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["errors"]))


if __name__ == "__main__":
    main()
