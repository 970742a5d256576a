"""Soak of pacer-bridge: 10,000+ applications over time through `pacer-bridge bench`; samples
the server's resident memory and the history database as it grows (the store should grow,
the memory should not).

Usage: .venv/spark-3.5/bin/python bench/bridge_soak.py [--apps 20000] [--concurrent 50]
Needs target/release/pacer-bridge.
"""

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from pacer_testbed.bridge import BridgeProcess, require_binary
from pacer_testbed.facts import BridgeHistory
from pacer_testbed.processes import stop_process_group


def rss_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=20_000, help="stop after this many finished applications")
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    binary = require_binary()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "soak.db"
        server = BridgeProcess(db, policy="pacer", log_level="warn").start()
        history = BridgeHistory(db)
        load = subprocess.Popen([str(binary), "bench", "--connect", server.endpoint, "--apps", str(args.concurrent),
                                 "--seconds", "100000", "--format", "json"], stdout=subprocess.DEVNULL,
                                start_new_session=True)
        started = time.time()
        print("%8s %10s %12s %14s" % ("time s", "apps done", "db MiB", "bridge RSS MiB"), flush=True)
        try:
            while True:
                time.sleep(10)
                done = history.finished_runs()
                size = sum(f.stat().st_size for f in Path(tmp).glob("soak.db*")) / 2**20
                print("%8.0f %10d %12.1f %14.1f" % (time.time() - started, done, size, rss_kib(server.pid) / 1024),
                      flush=True)
                if done >= args.apps:
                    break
        finally:
            stop_process_group(load)
            server.stop()


if __name__ == "__main__":
    main()
