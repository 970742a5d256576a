"""`make demo-external`: a cluster manager too small for a runtime target, and Pacer bursting to
external executors to meet it.

Starts a Spark standalone cluster whose worker gives the application 2 executors, the external
pool (a Redis of its own, `pacer-proxy dispatcher`, and `pacer-proxy worker` agents on
127.0.0.2 and 127.0.0.3, standing in for two more hosts), and `pacer-bridge serve --policy
fixed:6` (a bridge that always asks for 6 executors, so that the runs differ only in where
executors come from). The same I/O-bound application runs twice with the same runtime target:
with `reschedule.dst.executor=internal` (the 2 executors of the cluster manager) and with
`burst` (2 from the cluster manager, 4 from the pool). The report shows both executor
counts over time. Everything it starts is stopped at the end, also on Ctrl-C.

Usage: .venv/spark-3.5/bin/python scripts/demo_external.py [--out DIR] [--target-s 60]
"""

import argparse
import json
import sys

from demo_report import announcer, prepare_output, submit_run, write_html
from pacer_testbed.bridge import BridgeProcess
from pacer_testbed.facts import BridgeHistory
from pacer_testbed.pool import Pool
from pacer_testbed.repo import REPO
from pacer_testbed.spark import SparkCluster, SparkInstall, event_log_conf, pacer_conf

APP_NAME = "Pacer burst demo with Params(io-bound, 8 jobs)"
INTERNAL_EXECUTORS = 2
TARGET_EXECUTORS = 6
# Eight jobs of 12 uneven partitions; tasks sleep 4 ms per record: 14.4 s of task time per job,
# so 2 executors need about a minute of jobs and 6 a third of that.
WORKLOAD = ["--jobs", 8, "--partitions", 12, "--records", 3600, "--ms-per-record", 4.0]


say = announcer("demo-external")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "demo-output" / "external"), help="folder for data and report")
    parser.add_argument("--target-s", type=float, default=60.0, help="runtime target of both runs")
    args = parser.parse_args()
    out, events = prepare_output(args.out)
    install = SparkInstall("3.5")
    cluster = SparkCluster(install, out / "cluster", cores=INTERNAL_EXECUTORS, memory="4g")
    pool = Pool(out / "pool", install, hosts=("127.0.0.2", "127.0.0.3"), cores=2, memory="2g")
    bridge = None
    runs = []
    try:
        say("starting a Spark standalone cluster on 127.0.0.1 whose worker has %d cores" % INTERNAL_EXECUTORS)
        cluster.start()
        say("starting the external pool: Redis on port %d, a dispatcher, workers on 127.0.0.2 and 127.0.0.3 "
            "(2 cores each)" % pool.redis.port)
        pool.start()
        db = out / "history.db"
        if db.exists():
            db.unlink()
        bridge = BridgeProcess(db, policy="fixed:%d" % TARGET_EXECUTORS, log_path=out / "bridge.log").start()
        history = BridgeHistory(db)
        for i, destination in enumerate(["internal", "burst"], start=1):
            conf = pacer_conf(install, bridge.endpoint, **{
                "spark.app.name": APP_NAME,
                "spark.customExtraListener.targetRuntime": str(int(args.target_s * 1000)),
                "spark.customExtraListener.maxExecutors": str(TARGET_EXECUTORS),
                "spark.cores.max": str(INTERNAL_EXECUTORS),
                **pool.spark_conf(destination),
                **event_log_conf(events),
            })
            say("run %d/2: reschedule.dst.executor=%s, target %.0f s ..." % (i, destination, args.target_s))
            run = submit_run(install, cluster.master_url, conf, WORKLOAD, out, events, i, destination,
                             args.target_s, history)
            runs.append(run)
            external = max(c for _, c in run["timeline_external"]) if run["timeline_external"] else 0
            say("run %d/2 done: %.1f s, %s, %.1f executor-minutes, executors %s (%d external at most)" % (
                i, run["runtime_s"], run["verdict"], run["executor_minutes"], run["executors_seen"], external))
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        return 130
    finally:
        if bridge is not None:
            bridge.stop()
        pool.stop()
        cluster.stop()
    print()
    print("%-4s %-9s %9s %10s %-7s %17s %s" % ("run", "executors", "target s", "runtime s", "met", "executor-minutes",
                                               "executors seen (external at most)"))
    for run in runs:
        external = max(c for _, c in run["timeline_external"]) if run["timeline_external"] else 0
        print("%-4d %-9s %9.0f %10.1f %-7s %17.2f %s (%d)" % (
            run["index"], run["kind"], run["target_s"], run["runtime_s"], run["verdict"], run["executor_minutes"],
            run["executors_seen"], external))
    (out / "runs.json").write_text(json.dumps(runs, indent=1))
    note = ("The same application twice with a %.0f s target on a standalone cluster whose worker gives it %d "
            "executors; the bridge asks for %d. <code>internal</code>: the cluster manager's executors only. "
            "<code>burst</code>: the rest from Pacer's external pool (workers on 127.0.0.2 and 127.0.0.3)."
            % (args.target_s, INTERNAL_EXECUTORS, TARGET_EXECUTORS))
    internal, burst = runs
    headline = ("With the external pool: %s in %.1f s; the cluster manager alone: %s in %.1f s" % (
        burst["verdict"], burst["runtime_s"], internal["verdict"], internal["runtime_s"]), burst["verdict"] == "met")
    report = write_html(runs, out / "report.html", APP_NAME, title="Pacer external executors demo", note=note,
                        headline=headline)
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
