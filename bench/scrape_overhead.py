"""Does a Prometheus scrape slow message handling? `pacer-bridge serve --policy pacer --http`
under `pacer-bridge bench` load, with and without a scraper polling /metrics every 100 ms,
interleaved (A B A B ...) so machine drift falls on both. Prints throughput, p50/p99 and the
server's CPU per message for each, and their ratio.

Usage: .venv/spark-3.5/bin/python bench/scrape_overhead.py [--apps 100] [--think-ms 10] [--seconds 10] [--rounds 3]
Needs target/release/pacer-bridge (cargo build --release -p pacer-bridge).
"""

import argparse
import statistics
import tempfile
import threading
import urllib.request
from pathlib import Path

from bridge_throughput import measured_load
from pacer_testbed.bridge import BridgeProcess, require_binary


class Scraper:
    """GETs /metrics every `period_s` until stopped; counts scrapes and failures."""

    def __init__(self, url, period_s=0.1):
        self.url, self.period_s = url, period_s
        self.scrapes = self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.period_s):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    response.read()
                self.scrapes += 1
            except OSError:
                self.failures += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def one_round(tmp, scraped, args):
    bridge = BridgeProcess(Path(tmp) / ("scraped.db" if scraped else "plain.db"), "pacer", log_level="warn",
                           http=True).start()
    try:
        if scraped:
            with Scraper(bridge.http_url + "metrics") as scraper:
                result = measured_load(bridge, args.apps, args.seconds, args.think_ms)
            result["scrapes"], result["scrape_failures"] = scraper.scrapes, scraper.failures
        else:
            result = measured_load(bridge, args.apps, args.seconds, args.think_ms)
    finally:
        bridge.stop()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--think-ms", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_binary()
    rows = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for scraped in (False, True):
                r = one_round(tmp, scraped, args)
                rows[scraped].append(r)
                print("round %d %-15s %8.0f msg/s  p50 %6.3f ms  p99 %6.3f ms  CPU %5.1f us/msg  errors %d%s" % (
                    i + 1, "scraped 100 ms" if scraped else "no scraper", r["messages_per_s"], r["p50_ms"],
                    r["p99_ms"], r["cpu_us_per_message"], r["errors"],
                    "  scrapes %d (failed %d)" % (r["scrapes"], r["scrape_failures"]) if scraped else ""),
                      flush=True)
    median = {s: {k: statistics.median(r[k] for r in rows[s])
                  for k in ("messages_per_s", "p50_ms", "p99_ms", "cpu_us_per_message")} for s in rows}
    print()
    print("%d applications, think %d ms, %d s, %d rounds (medians):" % (args.apps, args.think_ms, args.seconds,
                                                                       args.rounds))
    print("| server | msg/s | p50 ms | p99 ms | CPU µs/msg |")
    print("|---|---|---|---|---|")
    for scraped, name in ((False, "no scraper"), (True, "/metrics every 100 ms")):
        m = median[scraped]
        print("| %s | %.0f | %.3f | %.3f | %.1f |" % (name, m["messages_per_s"], m["p50_ms"], m["p99_ms"],
                                                      m["cpu_us_per_message"]))
    print("| ratio (scraped / not) | %.3f | %.2f | %.2f | %.3f |" % tuple(
        median[True][k] / max(median[False][k], 1e-9)
        for k in ("messages_per_s", "p50_ms", "p99_ms", "cpu_us_per_message")))


if __name__ == "__main__":
    main()
