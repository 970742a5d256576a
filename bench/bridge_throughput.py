"""`pacer-bridge bench` against `pacer-bridge serve --policy noop` and against the Python
reference bridge (bench/reference_bridge.py), with 1, 10, 100 and 1000 concurrent
applications, in one run.

Usage: .venv/spark-3.5/bin/python bench/bridge_throughput.py [--seconds 10] [--apps 1,10,100,1000]
Needs target/release/pacer-bridge (cargo build --release -p pacer-bridge).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pacer_testbed.bridge import BridgeProcess, require_binary
from pacer_testbed.ports import endpoint as free_endpoint, wait_listening
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import REPO


class ReferenceBridge:
    """bench/reference_bridge.py in its own session, started and stopped like a BridgeProcess."""

    def __init__(self):
        self.endpoint = free_endpoint()
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, str(REPO / "bench" / "reference_bridge.py"), self.endpoint],
                                        start_new_session=True)
        wait_listening(self.endpoint, 10, self.process)
        return self

    def stop(self):
        stop_process_group(self.process, grace=30)


def load(endpoint, apps, seconds, think_ms=0):
    out = subprocess.run(
        [str(require_binary()), "bench", "--connect", endpoint, "--apps", str(apps), "--seconds", str(seconds),
         "--think-ms", str(think_ms), "--format", "json"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--apps", default="1,10,100,1000")
    parser.add_argument("--paced-think-ms", type=int, default=10,
                        help="also run 100 applications that pause this long between events")
    args = parser.parse_args()
    require_binary()
    counts = [int(a) for a in args.apps.split(",")]
    results = {}
    paced = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = (("pacer-bridge (noop)", lambda: BridgeProcess(Path(tmp) / "bench.db", "noop", log_level="warn")),
                   ("python reference", ReferenceBridge))
        for name, server_for in servers:
            for apps in counts:
                server = server_for().start()
                try:
                    results[(name, apps)] = load(server.endpoint, apps, args.seconds)
                finally:
                    server.stop()
                r = results[(name, apps)]
                print("%-20s apps %5d: %9.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  errors %d" % (
                    name, apps, r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["errors"]), flush=True)
            server = server_for().start()
            try:
                paced[name] = load(server.endpoint, 100, args.seconds, args.paced_think_ms)
            finally:
                server.stop()
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
