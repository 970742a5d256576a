"""`make demo`: Pacer meeting a runtime target on a local Spark standalone cluster.

Starts a master and a worker (8 cores: up to 8 one-core executors) and `pacer-bridge serve
--policy pacer`, runs the I/O-bound example a few times without a target (profiling runs: the
bridge explores scale-outs) and then with a runtime target that only a scaled-out run meets,
and writes a report: a table per run on the terminal and a self-contained HTML page with the
executors over time. Everything it starts is stopped at the end, also on Ctrl-C.

Usage: .venv/spark-3.5/bin/python scripts/demo.py [--quick] [--out DIR]
"""

import argparse
import json
import sys
import urllib.request

from demo_report import announcer, prepare_output, submit_run, write_html
from pacer_testbed.bridge import BridgeProcess
from pacer_testbed.facts import BridgeHistory
from pacer_testbed.repo import BRIDGE_BINARY, REPO
from pacer_testbed.spark import SparkCluster, SparkInstall, event_log_conf, pacer_conf

APP_NAME = "Pacer demo with Params(io-bound, 6 jobs)"
MAX_EXECUTORS = 8
# Six jobs of 16 uneven partitions; tasks sleep 2 ms per record: 9.6 s of task time per job.
WORKLOAD = ["--jobs", 6, "--partitions", 16, "--records", 4800, "--ms-per-record", 2.0]


say = announcer("demo")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one profiling run and one adaptive run")
    parser.add_argument("--out", default=str(REPO / "demo-output"), help="folder for the data and the report")
    parser.add_argument("--target-s", type=float, default=60.0, help="runtime target of the adaptive runs")
    args = parser.parse_args()
    out, events = prepare_output(args.out)
    profiling_runs, adaptive_runs = (1, 1) if args.quick else (3, 2)
    install = SparkInstall("3.5")
    cluster = SparkCluster(install, out / "cluster", cores=MAX_EXECUTORS, memory="8g")
    bridge = None
    runs = []
    try:
        say("starting a Spark standalone cluster on 127.0.0.1 (1 master, 1 worker with %d cores)" % MAX_EXECUTORS)
        cluster.start()
        db = out / "history.db"
        if db.exists():
            db.unlink()
        bridge = BridgeProcess(db, policy="pacer", log_path=out / "bridge.log", http=True)
        say("starting pacer-bridge serve --policy pacer on %s (history in %s)" % (bridge.endpoint, db))
        bridge.start()
        say("live view of the runs while the demo goes on: %s" % bridge.http_url)
        history = BridgeHistory(db)
        plan = [("profiling", None)] * profiling_runs + [("adaptive", args.target_s)] * adaptive_runs
        for i, (kind, target_s) in enumerate(plan, start=1):
            conf = pacer_conf(install, bridge.endpoint, **{
                "spark.app.name": APP_NAME,
                "spark.customExtraListener.isAdaptive": "true" if target_s else "false",
                "spark.customExtraListener.targetRuntime": str(int((target_s or 0) * 1000)),
                "spark.customExtraListener.minExecutors": "1",
                "spark.customExtraListener.maxExecutors": str(MAX_EXECUTORS),
                "spark.customExtraListener.executorRequestTimeoutMs": "2000",
                "spark.cores.max": str(MAX_EXECUTORS),
                **event_log_conf(events),
            })
            label = "profiling run (the bridge picks a scale-out to explore)" if kind == "profiling" else \
                "adaptive run, target %.0f s" % target_s
            say("run %d/%d: %s ..." % (i, len(plan), label))
            run = submit_run(install, cluster.master_url, conf, WORKLOAD, out, events, i, kind, target_s,
                             history)
            runs.append(run)
            say("run %d/%d done: %.1f s, %s, %.1f executor-minutes, executors %s" % (
                i, len(plan), run["runtime_s"], run["verdict"], run["executor_minutes"], run["executors_seen"]))
        say(live_view_check(bridge.http_url, len(runs)))
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        return 130
    finally:
        if bridge is not None:
            bridge.stop()
        cluster.stop()
    print()
    print("%-4s %-10s %9s %10s %-8s %17s %s" % ("run", "kind", "target s", "runtime s", "met", "executor-minutes",
                                                "scale-outs recommended (executors seen)"))
    for run in runs:
        print("%-4d %-10s %9s %10.1f %-8s %17.2f %s (%s)" % (
            run["index"], run["kind"], "%.0f" % run["target_s"] if run["target_s"] else "-", run["runtime_s"],
            run["verdict"], run["executor_minutes"], "→".join(map(str, run.get("bridge_scale_outs", []))),
            run["executors_seen"]))
    (out / "runs.json").write_text(json.dumps(runs, indent=1))
    report = write_html(runs, out / "report.html", APP_NAME)
    print()
    print("the live view of these runs (metrics on /metrics), served from their history:")
    print("  %s serve --db %s --http 127.0.0.1:9464   then open http://127.0.0.1:9464/" % (
        BRIDGE_BINARY, db))
    print("the report to keep or mail around:")
    print(report)
    return 0


def live_view_check(url, runs):
    """What the bridge's live view lists at the end of the demo (it should be every run)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
    except OSError as e:
        return "the live view at %s did not answer: %s" % (url, e)
    return "the live view at %s lists %d of the %d runs" % (url, page.count('href="/runs/'), runs)


if __name__ == "__main__":
    sys.exit(main())
