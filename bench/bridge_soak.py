"""Soak of pacer-bridge: 10,000+ applications over time through `pacer-bridge bench`; samples
the server's resident memory and the history database as it grows (the store should grow,
the memory should not).

Usage: python3 bench/bridge_soak.py [--apps 20000] [--concurrent 50]
Needs target/release/pacer-bridge.
"""

import argparse
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "target" / "release" / "pacer-bridge"


def rss_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def finished_apps(db):
    try:
        with sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM applications WHERE end_ms IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=20_000, help="stop after this many finished applications")
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    if not BRIDGE.exists():
        sys.exit("build it first: cargo build --release -p pacer-bridge")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "soak.db"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            endpoint = "tcp://127.0.0.1:%d" % s.getsockname()[1]
        server = subprocess.Popen([str(BRIDGE), "serve", "--bind", endpoint, "--db", str(db), "--policy", "pacer",
                                   "--log-level", "warn"])
        time.sleep(0.5)
        load = subprocess.Popen([str(BRIDGE), "bench", "--connect", endpoint, "--apps", str(args.concurrent),
                                 "--seconds", "100000", "--format", "json"], stdout=subprocess.DEVNULL)
        started = time.time()
        print("%8s %10s %12s %14s" % ("time s", "apps done", "db MiB", "bridge RSS MiB"), flush=True)
        try:
            while True:
                time.sleep(10)
                done = finished_apps(db)
                size = sum(f.stat().st_size for f in Path(tmp).glob("soak.db*")) / 2**20
                print("%8.0f %10d %12.1f %14.1f" % (time.time() - started, done, size, rss_kib(server.pid) / 1024),
                      flush=True)
                if done >= args.apps:
                    break
        finally:
            load.terminate()
            load.wait()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
