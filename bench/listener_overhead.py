"""Wall time of an application with 200,000 tiny tasks with and without Pacer, in the same run,
on a real standalone cluster; checks the driver log for Spark's "Dropping event" warning.

Usage: .venv/spark-3.5/bin/python bench/listener_overhead.py [--version 3.5] [--pairs 3]
       [--jobs 20] [--tasks-per-job 10000]
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from pacer_testbed.repo import EXAMPLES, REPO
from pacer_testbed.spark import SparkCluster, SparkInstall, pacer_conf, submit
from pacer_testbed.standin import BridgeStandIn

APP = EXAMPLES / "tiny_tasks_app.py"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", default="3.5")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--tasks-per-job", type=int, default=10_000)
    args = parser.parse_args()

    install = SparkInstall(args.version)
    workdir = Path(tempfile.mkdtemp(prefix="pacer-overhead-"))
    # Tiny tasks are latency-bound, not CPU-bound: many task slots keep the scheduler busy.
    cluster = SparkCluster(install, workdir / "cluster", cores=16, memory="8g").start()
    # Answers APPLICATION_START with the executors the app runs with and echoes the rest:
    # Pacer reports everything and changes nothing, so both runs do the same work.
    executors = 4
    bridge = BridgeStandIn(lambda m: executors if m["event_type"] == "APPLICATION_START" else None).start()
    app_args = ["--jobs", args.jobs, "--tasks-per-job", args.tasks_per_job]
    base = {
        "spark.executor.cores": "4",
        "spark.executor.memory": "1g",
        "spark.ui.enabled": "false",
    }
    # Per-task INFO lines on the driver and executors would dominate the run.
    quiet = "-Dlog4j2.configurationFile=file:%s" % (REPO / "bench" / "log4j2-quiet.properties")
    base["spark.driver.extraJavaOptions"] = quiet
    base["spark.executor.extraJavaOptions"] = quiet
    runs = {"without": [], "with": []}
    dropping = {"without": 0, "with": 0}
    # A warm-up run (not counted), then pairs in ABBA order, so that drift over time (caches,
    # JIT of the cluster's JVMs) falls on both sides equally.
    schedule = [("warm-up", -1)] + [(mode, pair) for pair in range(args.pairs)
                                    for mode in (("with", "without") if pair % 2 == 0 else ("without", "with"))]
    try:
        for mode, pair in schedule:
            if mode == "with":
                conf = pacer_conf(install, bridge.endpoint, **base)
                conf["spark.customExtraListener.maxExecutors"] = str(executors)
            else:
                conf = dict(base)
            # The warm-up only needs to start the cluster's JVMs and fill the OS caches.
            run_args = ["--jobs", 2, "--tasks-per-job", args.tasks_per_job] if mode == "warm-up" else app_args
            run = submit(install, cluster.master_url, conf, run_args,
                         workdir / ("%s-%d.log" % (mode, pair)), jar=(mode == "with"), app=APP)
            if mode == "with" and "releasing idle executors" in run.driver_log:
                sys.exit("Pacer changed the executors; the runs would not be comparable")
            if run.returncode != 0 or not (run.result and run.result["ok"]):
                sys.exit("run failed:\n" + run.describe())
            if mode == "warm-up":
                print("warm-up run: %.2f s (not counted)" % run.wall_s, flush=True)
                continue
            dropping[mode] += run.driver_log.count("Dropping event")
            runs[mode].append((run.result["runtime_s"], run.wall_s))
            print("pair %d %-7s Pacer: jobs %.2f s, spark-submit %.2f s" % (
                pair, mode, run.result["runtime_s"], run.wall_s), flush=True)
    finally:
        bridge.stop()
        cluster.stop()

    tasks = args.jobs * args.tasks_per_job
    print()
    print("Spark %s, %d tasks per run, %d runs each (alternating), medians:" % (args.version, tasks, args.pairs))
    for mode in ("without", "with"):
        jobs = statistics.median(r[0] for r in runs[mode])
        wall = statistics.median(r[1] for r in runs[mode])
        print("  %-7s Pacer: jobs %.2f s, spark-submit %.2f s, 'Dropping event' lines: %d" % (
            mode, jobs, wall, dropping[mode]))
    ratio_jobs = statistics.median(r[0] for r in runs["with"]) / statistics.median(r[0] for r in runs["without"])
    ratio_wall = statistics.median(r[1] for r in runs["with"]) / statistics.median(r[1] for r in runs["without"])
    print("  ratio with/without: jobs %.3f, spark-submit %.3f" % (ratio_jobs, ratio_wall))


if __name__ == "__main__":
    main()
