"""External executors against the cluster manager's own, side by side in one run, on a real
standalone cluster (loopback; the pool's workers on 127.0.0.2 and 127.0.0.3).

1. Start-up: the time from Pacer's decision (the bridge's reply that asks for 2 more
   executors) to each new executor registered with the driver (SparkListenerExecutorAdded),
   for executors the standalone Master launches (`internal`) and for executors the pool
   launches (`external`), runs interleaved.
2. Task throughput: one application in `burst` with one internal and one external executor of
   one core each, running the same jobs of many short tasks; tasks and mean task time per
   executor from the event log. Both executors are fed by the same scheduler over the same
   RPC path, so the ratio should be 1.

Usage: .venv/spark-3.5/bin/python bench/external_executors.py [--version 3.5] [--rounds 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pacer_testbed.facts import EventLog
from pacer_testbed.pool import Pool
from pacer_testbed.repo import EXAMPLES
from pacer_testbed.spark import SparkCluster, SparkInstall, event_log_conf, pacer_conf, submit
from pacer_testbed.standin import BridgeStandIn


class DecisionClock:
    """A bridge script: 1 executor at start, 3 after job 1 (by then the standalone Master's
    first executors beyond 1 are gone, so 3 is a change); records when it said 3."""

    def __init__(self):
        self.decided_ms = None

    def __call__(self, message):
        kind, payload = message["event_type"], message["payload"]
        if kind == "APPLICATION_START":
            return 1
        if kind == "JOB_END" and payload["job_id"] == 1:
            self.decided_ms = time.time() * 1000
            return 3
        return None


def start_up_round(install, cluster, pool, destination, workdir):
    clock = DecisionClock()
    bridge = BridgeStandIn(clock).start()
    try:
        conf = pacer_conf(install, bridge.endpoint, **event_log_conf(workdir / "events"))
        conf["spark.customExtraListener.maxExecutors"] = "3"
        if destination == "external":
            conf.update(pool.spark_conf("external"))
        else:
            conf["spark.cores.max"] = "3"
        run = submit(install, cluster.master_url, conf, ["--jobs", 3, "--records", 1000, "--pause-ms", 8000],
                     workdir / "driver.log", app=EXAMPLES / "shuffle_app.py", timeout=300)
    finally:
        bridge.stop()
    if run.returncode != 0 or not (run.result or {}).get("ok"):
        raise SystemExit(run.describe())
    log = EventLog.only_one_in(workdir / "events")
    later = sorted(e["added_ms"] for e in log.executors.values() if e["added_ms"] > clock.decided_ms)
    if len(later) != 2:
        raise SystemExit("expected 2 executors after the decision, got %s (%s)" % (later, workdir))
    return [(t - clock.decided_ms) / 1000.0 for t in later]


def throughput(install, cluster, pool, workdir, jobs, tasks):
    bridge = BridgeStandIn(lambda m: 2 if m["event_type"] == "APPLICATION_START" else None).start()
    try:
        conf = pacer_conf(install, bridge.endpoint, **event_log_conf(workdir / "events"))
        conf.update(pool.spark_conf("burst"))
        conf.update({"spark.cores.max": "1", "spark.customExtraListener.maxExecutors": "2"})
        run = submit(install, cluster.master_url, conf,
                     ["--jobs", jobs, "--partitions", tasks, "--records", tasks * 20, "--ms-per-record", 1],
                     workdir / "driver.log", app=EXAMPLES / "shuffle_app.py", timeout=900)
    finally:
        bridge.stop()
    if run.returncode != 0 or not (run.result or {}).get("ok"):
        raise SystemExit(run.describe())
    log = EventLog.only_one_in(workdir / "events")
    external = set(log.external_executors())
    counts = {"internal": 0, "external": 0}
    for executor in log.task_executors:
        counts["external" if executor in external else "internal"] += 1
    return counts, log


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", default="3.5")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()

    install = SparkInstall(args.version)
    workdir = Path(tempfile.mkdtemp(prefix="pacer-external-bench-"))
    cluster = SparkCluster(install, workdir / "cluster", cores=3, memory="4g").start()
    # External runs get no executor from their Master: it has no worker.
    bare = SparkCluster(install, workdir / "bare-cluster", cores=0).start()
    pool = Pool(workdir / "pool", install, cores=2).start()
    try:
        delays = {"internal": [], "external": []}
        for round_ in range(args.rounds):
            for destination in ("internal", "external"):
                master = cluster if destination == "internal" else bare
                delays[destination] += start_up_round(install, master, pool, destination,
                                                      workdir / ("%s-%d" % (destination, round_)))
        counts, _ = throughput(install, cluster, pool, workdir / "throughput", args.jobs, args.tasks)
    finally:
        pool.stop()
        bare.stop()
        cluster.stop()

    print("Spark %s, %d rounds (internal and external interleaved), 2 new executors per round" % (
        install.version, args.rounds))
    print("%-9s %8s %8s %8s  (seconds from decision to executor registered)" % ("executors", "median", "min", "max"))
    for kind, values in delays.items():
        print("%-9s %8.2f %8.2f %8.2f" % (kind, statistics.median(values), min(values), max(values)))
    print("external / internal median: %.2f" % (statistics.median(delays["external"])
                                              / statistics.median(delays["internal"])))
    total = sum(counts.values())
    print("task throughput, one internal and one external 1-core executor, %d tasks:" % total)
    print("  internal %d tasks, external %d tasks, external / internal %.2f" % (
        counts["internal"], counts["external"], counts["external"] / max(1, counts["internal"])))


if __name__ == "__main__":
    main()
