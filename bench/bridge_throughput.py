"""CPU per message of `pacer-bridge serve` against the Python reference bridge
(bench/reference_bridge.py: a pyzmq REP loop that only parses the JSON and replies), in one run.

First view (the target): 100 applications pausing 10 ms (0.5-1.5x) between events, `--rounds`
rounds interleaved (pacer, noop, reference, pacer, ...) so machine drift falls on all of them, a
fresh server and database each time; server CPU from /proc before and after, per thread for
pacer-bridge. Second view: closed loop (each application sends as soon as it is answered) with
1, 10, 100 and 1000 applications.

Usage: .venv/spark-3.5/bin/python bench/bridge_throughput.py [--seconds 10] [--rounds 3]
       [--apps 1,10,100,1000] [--no-closed-loop] [--before OTHER-BUILD/pacer-bridge]
       [--variant 'SERVE OPTIONS']...
Needs target/release/pacer-bridge (cargo build --release -p pacer-bridge).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pacer_testbed.bridge import BridgeProcess, require_binary
from pacer_testbed.ports import endpoint as free_endpoint, wait_listening
from pacer_testbed.processes import stop_process_group, thread_cpu_seconds, user_system_cpu_seconds
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

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        stop_process_group(self.process, grace=30)


def load(endpoint, apps, seconds, think_ms=0):
    out = subprocess.run(
        [str(require_binary()), "bench", "--connect", endpoint, "--apps", str(apps), "--seconds", str(seconds),
         "--think-ms", str(think_ms), "--format", "json"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def measured_load(server, apps, seconds, think_ms):
    """`load` against a started server, with the server's CPU per message (in all, in the kernel,
    and by thread)."""
    (user_before, system_before) = user_system_cpu_seconds(server.pid)
    threads_before = thread_cpu_seconds(server.pid)
    result = load(server.endpoint, apps, seconds, think_ms)
    (user_after, system_after) = user_system_cpu_seconds(server.pid)
    threads_after = thread_cpu_seconds(server.pid)
    system = system_after - system_before
    cpu = user_after - user_before + system
    messages = max(result["messages_per_s"] * seconds, 1)
    result["cpu_us_per_message"] = cpu / messages * 1e6
    result["kernel_us_per_message"] = system / messages * 1e6
    result["threads_us_per_message"] = {
        name: (spent - threads_before.get(name, 0.0)) / messages * 1e6 for name, spent in threads_after.items()}
    return result


def servers(tmp, before=None, variants=()):
    """The servers compared, each a factory of a fresh, unstarted server; with `before` (another
    build's binary), that build with the pacer policy too; each of `variants` (`serve` options as
    one string) the pacer policy with those options."""
    count = iter(range(1_000_000))

    def bridge(policy, binary=None, options=()):
        return lambda: BridgeProcess(Path(tmp) / ("%s-%d.db" % (policy, next(count))), policy, log_level="warn",
                                     binary=binary, options=options)
    chosen = {"pacer-bridge --policy pacer": bridge("pacer"),
              "pacer-bridge --policy noop": bridge("noop")}
    for options in variants:
        chosen["--policy pacer " + options] = bridge("pacer", options=options.split())
    if before:
        chosen["before: --policy pacer"] = bridge("pacer", before)
    chosen["python reference"] = ReferenceBridge
    return chosen


def paced_comparison(args, tmp):
    reference = "python reference"
    factories = servers(tmp, args.before, args.variant)
    rounds = {name: [] for name in factories}
    for i in range(args.rounds):
        for name, factory in factories.items():
            server = factory().start()
            try:
                r = measured_load(server, 100, args.seconds, args.think_ms)
            finally:
                server.stop()
            rounds[name].append(r)
            threads = ", ".join("%s %.1f" % (t.strip("-") or "main", us)
                                for t, us in sorted(r["threads_us_per_message"].items()) if us >= 0.05)
            print(("round %d %-28s %6.0f msg/s  p50 %6.3f ms  p99 %6.3f ms  CPU %5.1f us/msg (kernel %4.1f)"
                   "  errors %d%s") % (
                i + 1, name, r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["cpu_us_per_message"],
                r["kernel_us_per_message"], r["errors"],
                "  (%s)" % threads if name != reference else ""), flush=True)
    keys = ("messages_per_s", "p50_ms", "p99_ms", "cpu_us_per_message", "kernel_us_per_message")
    median = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in rounds.items()}
    errors = {name: sum(r["errors"] for r in rs) for name, rs in rounds.items()}
    print()
    print("100 applications pausing %d ms (0.5-1.5x) between events, %d s, %d interleaved rounds (medians):"
          % (args.think_ms, args.seconds, args.rounds))
    print("| server | CPU µs/msg | of it in the kernel | × reference | msg/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in median.items():
        print("| %s | %.1f | %.1f | %.2f | %.0f | %.3f | %.3f | %d |" % (
            name, m["cpu_us_per_message"], m["kernel_us_per_message"],
            m["cpu_us_per_message"] / median[reference]["cpu_us_per_message"],
            m["messages_per_s"], m["p50_ms"], m["p99_ms"], errors[name]))
    pacer = median["pacer-bridge --policy pacer"]
    ratio = pacer["cpu_us_per_message"] / median[reference]["cpu_us_per_message"]
    print("target (pacer ≤ 0.5 × reference CPU per message, p99 ≤ 2 ms, no error): CPU %.2f × %s, p99 %.2f ms %s"
          % (ratio, "met" if ratio <= 0.5 else "NOT met", pacer["p99_ms"],
             "met" if pacer["p99_ms"] <= 2 else "NOT met"))


def closed_loop(args, tmp):
    counts = [int(a) for a in args.apps.split(",")]
    results = {}
    factories = {k: v for k, v in servers(tmp).items() if k != "pacer-bridge --policy pacer"}
    for name, factory in factories.items():
        for apps in counts:
            server = factory().start()
            try:
                results[(name, apps)] = r = measured_load(server, apps, args.seconds, 0)
            finally:
                server.stop()
            print("%-28s apps %5d: %9.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  CPU %5.1f us/msg  errors %d"
                  % (name, apps, r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["cpu_us_per_message"],
                     r["errors"]), flush=True)
    print()
    print("Closed loop (each application sends its next event as soon as it is answered):")
    print("| apps | pacer-bridge (noop) msg/s | p50 ms | p99 ms | CPU µs/msg | reference msg/s | p50 ms | p99 ms | CPU µs/msg | throughput × |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for apps in counts:
        p = results[("pacer-bridge --policy noop", apps)]
        r = results[("python reference", apps)]
        print("| %d | %.0f | %.3f | %.3f | %.1f | %.0f | %.3f | %.3f | %.1f | %.1f |" % (
            apps, p["messages_per_s"], p["p50_ms"], p["p99_ms"], p["cpu_us_per_message"],
            r["messages_per_s"], r["p50_ms"], r["p99_ms"], r["cpu_us_per_message"],
            p["messages_per_s"] / max(r["messages_per_s"], 1e-9)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think-ms", type=int, default=10)
    parser.add_argument("--apps", default="1,10,100,1000", help="closed-loop application counts")
    parser.add_argument("--no-closed-loop", action="store_true")
    parser.add_argument("--before", help="another build of pacer-bridge to compare with (paced view)")
    parser.add_argument("--variant", action="append", default=[], metavar="OPTIONS",
                        help="also the pacer policy with these serve options, e.g. '--workers 2' (paced view)")
    args = parser.parse_args()
    require_binary()
    with tempfile.TemporaryDirectory() as tmp:
        paced_comparison(args, tmp)
        if not args.no_closed_loop:
            print()
            closed_loop(args, tmp)


if __name__ == "__main__":
    main()
