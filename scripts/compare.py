"""`make compare`: Pacer side by side with Spark's dynamic allocation and static allocations.

On a local Spark standalone cluster (one worker with 4 cores: up to 4 one-core executors) and
one `pacer-bridge serve --policy pacer`, for each workload (an example application):

1. profiling runs with Pacer and no target (the bridge explores scale-outs);
2. the target, from the profiling runs (TARGET_RULE below): reachable only by scaling out;
3. rounds; each round runs every configuration once, Pacer first (static-pacer needs the
   scale-out it settled on), the three others in an order that rotates from round to round,
   so that drift of the machine falls on all of them:
     pacer               Pacer with the target, minExecutors 1, maxExecutors 4;
     dynamic-allocation  Spark's dynamic allocation, its defaults (shuffle tracking on, since a
                         standalone cluster has no external shuffle service), min/max 1/4;
     static-max          4 executors throughout;
     static-pacer        as many executors throughout as the round's Pacer run settled on
                         (its last recommendation in the bridge's history).

Every configuration's runtime, executors over time and executor-minutes come from the same
source: Spark's event log (application start and end, SparkListenerExecutorAdded/Removed),
read by demo_report.load_run as for the demos. Writes `results.json`, `runs.json` and one HTML
page (`report.html`, the demo's style) into the output folder and prints the report's path as
its last line. Everything it starts is stopped at the end, also on Ctrl-C.

Usage: .venv/spark-3.5/bin/python scripts/compare.py [--quick] [--rounds N] [--out DIR]
           [--workloads io-bound,serial-wide]
       .venv/spark-3.5/bin/python scripts/compare.py --markdown compare-output/results.json
"""

import argparse
import html
import json
import statistics
import sys
import time
from pathlib import Path

from demo_report import announcer, executors_svg, html_page, prepare_output, submit_run
from pacer_testbed.bridge import BridgeProcess
from pacer_testbed.facts import BridgeHistory
from pacer_testbed.repo import EXAMPLES, REPO
from pacer_testbed.spark import SparkCluster, SparkInstall, base_conf, event_log_conf, pacer_conf

# Four at most: eight executor JVMs starting at once on a 2-core machine take half a minute to
# register, which would swamp what the configurations differ in.
MIN_EXECUTORS, MAX_EXECUTORS = 1, 4
CONFIGURATIONS = ["pacer", "dynamic-allocation", "static-max", "static-pacer"]
COLORS = {"pacer": "#1f77b4", "dynamic-allocation": "#ff7f0e", "static-max": "#9467bd", "static-pacer": "#8c564b"}
# Two shapes: parallel throughout (uneven partitions, every job wide), and jobs that start with
# one long serial task before a wide stage (extra executors help in half of each job only).
WORKLOADS = {
    "io-bound": {
        "app": EXAMPLES / "io_bound_app.py",
        "name": "Pacer compare io-bound",
        "args": ["--jobs", 4, "--partitions", 16, "--records", 3200, "--ms-per-record", 2.0],
        "quick_args": ["--jobs", 3, "--partitions", 16, "--records", 2400, "--ms-per-record", 2.0],
    },
    "serial-wide": {
        "app": EXAMPLES / "serial_wide_app.py",
        "name": "Pacer compare serial-wide",
        "args": ["--jobs", 3, "--partitions", 16, "--records", 3200, "--serial-ms", 3000, "--ms-per-record", 2.0],
        "quick_args": ["--jobs", 2, "--partitions", 16, "--records", 2400, "--serial-ms", 3000,
                       "--ms-per-record", 2.0],
    },
}
TARGET_FRACTION = 0.4
TARGET_RULE = ("target = runtime at the largest profiled scale-out + %.0f %% of the way to the runtime at the "
               "smallest profiled scale-out (rounded to the second): above what the maximum needs, below what "
               "the minimum needs, so it is met only by scaling out" % (TARGET_FRACTION * 100))

say = announcer("compare")


def target_from_profiling(profiling):
    """TARGET_RULE on the profiling runs; each run's scale-out is the bridge's last
    recommendation (the one it ran at), its runtime from the event log."""
    smallest = min(profiling, key=lambda r: (settled_scale_out(r), -r["runtime_s"]))
    largest = max(profiling, key=lambda r: (settled_scale_out(r), -r["runtime_s"]))
    slow, fast = smallest["runtime_s"], largest["runtime_s"]
    if slow <= fast:  # the profiling did not show scaling out to help: use the extremes instead
        slow, fast = max(r["runtime_s"] for r in profiling), min(r["runtime_s"] for r in profiling)
    return float(round(fast + TARGET_FRACTION * (slow - fast)))


def configuration_conf(install, configuration, workload, bridge, target_s, executors, events):
    conf = event_log_conf(events)
    conf["spark.app.name"] = workload["name"]
    if configuration == "pacer" or configuration == "profiling":
        conf = pacer_conf(install, bridge.endpoint, **conf, **{
            "spark.customExtraListener.isAdaptive": "true" if target_s else "false",
            "spark.customExtraListener.targetRuntime": str(int((target_s or 0) * 1000)),
            "spark.customExtraListener.minExecutors": str(MIN_EXECUTORS),
            "spark.customExtraListener.maxExecutors": str(MAX_EXECUTORS),
            "spark.customExtraListener.executorRequestTimeoutMs": "2000",
            "spark.cores.max": str(MAX_EXECUTORS),
        })
    elif configuration == "dynamic-allocation":
        conf = base_conf(install, **conf, **{
            "spark.dynamicAllocation.enabled": "true",
            "spark.dynamicAllocation.shuffleTracking.enabled": "true",
            "spark.dynamicAllocation.minExecutors": str(MIN_EXECUTORS),
            "spark.dynamicAllocation.maxExecutors": str(MAX_EXECUTORS),
            "spark.cores.max": str(MAX_EXECUTORS),
        })
    else:  # static-max, static-pacer: `executors` one-core executors from start to end
        conf = base_conf(install, **conf, **{"spark.cores.max": str(executors)})
    return conf


def settled_scale_out(run):
    """The scale-out a Pacer run settled on: the bridge's last recommendation to it, else the
    executors registered at its end."""
    return (run["bridge_scale_outs"] or [run["timeline"][-1][1]])[-1]


def summarize(runs, target_s):
    runtimes = [r["runtime_s"] for r in runs]
    minutes = [r["executor_minutes"] for r in runs]
    return {
        "runs": len(runs),
        "runtime_s_median": round(statistics.median(runtimes), 2),
        "runtime_s_min": round(min(runtimes), 2),
        "runtime_s_max": round(max(runtimes), 2),
        "met": sum(1 for r in runs if r["runtime_s"] <= target_s),
        "executor_minutes_median": round(statistics.median(minutes), 3),
        "executor_minutes_min": round(min(minutes), 3),
        "executor_minutes_max": round(max(minutes), 3),
        "executors": [r["executors"] for r in runs],
    }


def median_run(runs):
    return sorted(runs, key=lambda r: r["runtime_s"])[(len(runs) - 1) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one workload (smaller), two profiling runs, one round (the test in `make test`)")
    parser.add_argument("--rounds", type=int, default=None, help="runs per configuration (default 3, quick 1)")
    parser.add_argument("--profiling-runs", type=int, default=None, help="default 3, quick 2")
    parser.add_argument("--workloads", default=None, help="comma-separated, of %s" % ", ".join(WORKLOADS))
    parser.add_argument("--out", default=str(REPO / "compare-output"), help="folder for the data and the report")
    parser.add_argument("--markdown", metavar="RESULTS_JSON",
                        help="only print the table of an earlier comparison's results.json in Markdown")
    args = parser.parse_args()
    if args.markdown:
        print("\n".join(markdown_lines(json.loads(Path(args.markdown).read_text()))))
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    profiling_runs = args.profiling_runs or (2 if args.quick else 3)
    names = args.workloads.split(",") if args.workloads else (["io-bound"] if args.quick else list(WORKLOADS))
    for name in names:
        if name not in WORKLOADS:
            parser.error("unknown workload %r" % name)
    out, events = prepare_output(args.out)
    install = SparkInstall("3.5")
    cluster = SparkCluster(install, out / "cluster", cores=MAX_EXECUTORS, memory="4g")
    bridge = None
    results = {"workloads": {}}
    all_runs = []
    started = time.time()
    try:
        say("starting a Spark standalone cluster on 127.0.0.1 (1 master, 1 worker with %d cores)" % MAX_EXECUTORS)
        cluster.start()
        db = out / "history.db"
        if db.exists():
            db.unlink()
        bridge = BridgeProcess(db, policy="pacer", log_path=out / "bridge.log")
        say("starting pacer-bridge serve --policy pacer on %s (history in %s)" % (bridge.endpoint, db))
        bridge.start()
        history = BridgeHistory(db)
        total = len(names) * (profiling_runs + rounds * len(CONFIGURATIONS))

        def run(workload, configuration, target_s, executors=None):
            index = len(all_runs) + 1
            say("run %d/%d: %s, %s%s ..." % (index, total, workload_name, configuration,
                                              " at %d executors" % executors if executors else ""))
            conf = configuration_conf(install, configuration, workload, bridge, target_s, executors, events)
            r = submit_run(install, cluster.master_url, conf, args_of(workload), out, events, index, configuration,
                           target_s, history, app=workload["app"], jar=configuration in ("pacer", "profiling"))
            r["workload"] = workload_name
            r["executors"] = settled_scale_out(r) if configuration in ("pacer", "profiling") else (
                executors or MAX_EXECUTORS if configuration.startswith("static") else r["executors_seen"])
            all_runs.append(r)
            say("run %d/%d done: %.1f s, %s, %.2f executor-minutes, executors %s" % (
                index, total, r["runtime_s"], r["verdict"], r["executor_minutes"], r["executors_seen"]))
            return r

        def args_of(workload):
            return workload["quick_args"] if args.quick else workload["args"]

        for workload_name in names:
            workload = WORKLOADS[workload_name]
            profiling = [run(workload, "profiling", None) for _ in range(profiling_runs)]
            target_s = target_from_profiling(profiling)
            say("%s: target %.0f s (%s)" % (workload_name, target_s, TARGET_RULE))
            by_configuration = {c: [] for c in CONFIGURATIONS}
            others = CONFIGURATIONS[1:]
            for round_ in range(rounds):
                pacer = run(workload, "pacer", target_s)
                by_configuration["pacer"].append(pacer)
                for configuration in others[round_ % len(others):] + others[:round_ % len(others)]:
                    executors = {"static-max": MAX_EXECUTORS, "static-pacer": settled_scale_out(pacer)}.get(
                        configuration)
                    by_configuration[configuration].append(run(workload, configuration, target_s, executors))
            results["workloads"][workload_name] = {
                "target_s": target_s,
                "target_rule": TARGET_RULE,
                "profiling": [{"runtime_s": round(r["runtime_s"], 2), "scale_out": r["executors"]} for r in profiling],
                "configurations": {c: summarize(rs, target_s) for c, rs in by_configuration.items()},
            }
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        return 130
    finally:
        if bridge is not None:
            bridge.stop()
        cluster.stop()
    results["rounds"], results["profiling_runs"] = rounds, profiling_runs
    results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results["duration_s"] = round(time.time() - started, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "runs.json").write_text(json.dumps(all_runs, indent=1))
    print()
    for line in table_lines(results):
        print(line)
    report = write_report(results, all_runs, out / "report.html")
    print()
    print("results: %s (%.1f min)" % (out / "results.json", results["duration_s"] / 60))
    print(report)
    return 0


def table_lines(results):
    lines = ["%-12s %-19s %8s %4s %11s %15s %6s %14s %s" % (
        "workload", "configuration", "target s", "runs", "runtime s", "(min–max)", "met", "executor-min", "executors")]
    for name, w in results["workloads"].items():
        for c, s in w["configurations"].items():
            lines.append("%-12s %-19s %8.0f %4d %11.1f %15s %6s %14.2f %s" % (
                name, c, w["target_s"], s["runs"], s["runtime_s_median"],
                "%.1f–%.1f" % (s["runtime_s_min"], s["runtime_s_max"]), "%d/%d" % (s["met"], s["runs"]),
                s["executor_minutes_median"], ",".join(map(str, s["executors"]))))
    return lines


def markdown_lines(results):
    """The table of BENCHMARKS.md, README and docs/EVALUATION.md."""
    lines = ["| workload | target | configuration | runs | runtime median (min–max) | target met | "
             "executor-minutes median (min–max) | executors |", "|---|---|---|---|---|---|---|---|"]
    for name, w in results["workloads"].items():
        for c, s in w["configurations"].items():
            lines.append("| %s | %.0f s | `%s` | %d | %.1f s (%.1f–%.1f) | %d of %d | %.2f (%.2f–%.2f) | %s |" % (
                name, w["target_s"], c, s["runs"], s["runtime_s_median"], s["runtime_s_min"], s["runtime_s_max"],
                s["met"], s["runs"], s["executor_minutes_median"], s["executor_minutes_min"],
                s["executor_minutes_max"], ", ".join(map(str, s["executors"]))))
    return lines


def tradeoff_svg(runs_by_configuration, target_s):
    """Runtime (y) against executor-minutes (x): a small dot per run, a large one at each
    configuration's medians, the target as a dashed line."""
    w, h, left, bottom, top = 560, 300, 50, 36, 14
    plot_w, plot_h = w - left - 150, h - bottom - top
    runs = [r for rs in runs_by_configuration.values() for r in rs]
    max_x = max(r["executor_minutes"] for r in runs) * 1.15
    max_y = max(max(r["runtime_s"] for r in runs), target_s) * 1.15
    x = lambda v: left + plot_w * v / max_x  # noqa: E731
    y = lambda v: top + plot_h * (1 - v / max_y)  # noqa: E731
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-size="10" '
             'font-family="sans-serif">' % (w, h)]
    parts.append('<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>' % (left, y(0), x(max_x), y(0)))
    parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>' % (left, top, left, y(0)))
    parts.append('<line class="target" x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2ca02c" stroke-width="2" '
                 'stroke-dasharray="5,3"/><text x="%.1f" y="%.1f" fill="#2ca02c" text-anchor="end">target %.0f s'
                 '</text>' % (left, y(target_s), x(max_x), y(target_s), x(max_x), y(target_s) - 4, target_s))
    for i in range(6):
        vx, vy = max_x * i / 5, max_y * i / 5
        parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%.1f</text>' % (x(vx), y(0) + 13, vx))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (left - 4, y(vy) + 3, vy))
    parts.append('<text x="%.1f" y="%d" text-anchor="middle">executor-minutes</text>' % (left + plot_w / 2, h - 4))
    parts.append('<text x="10" y="%.1f" transform="rotate(-90 10 %.1f)" text-anchor="middle">runtime (s)</text>' % (
        top + plot_h / 2, top + plot_h / 2))
    for i, (c, rs) in enumerate(runs_by_configuration.items()):
        color = COLORS[c]
        for r in rs:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s" fill-opacity="0.5"><title>%s: %.1f s, %.2f '
                         'executor-minutes</title></circle>' % (x(r["executor_minutes"]), y(r["runtime_s"]), color, c,
                                                                r["runtime_s"], r["executor_minutes"]))
        mx = statistics.median(r["executor_minutes"] for r in rs)
        my = statistics.median(r["runtime_s"] for r in rs)
        parts.append('<circle class="median" cx="%.1f" cy="%.1f" r="7" fill="%s" stroke="black"><title>%s median: '
                     '%.1f s, %.2f executor-minutes</title></circle>' % (x(mx), y(my), color, c, my, mx))
        ly = top + 10 + 16 * i
        parts.append('<circle cx="%.1f" cy="%.1f" r="6" fill="%s" stroke="black"/><text x="%.1f" y="%.1f">%s</text>' % (
            w - 140, ly, color, w - 130, ly + 4, c))
    parts.append("</svg>")
    return "".join(parts)


def write_report(results, runs, path):
    sections, pacer_met, pacer_runs, cheaper = [], 0, 0, []
    for name, w in results["workloads"].items():
        target_s = w["target_s"]
        by_configuration = {c: [r for r in runs if r["workload"] == name and r["kind"] == c] for c in CONFIGURATIONS}
        s = w["configurations"]
        pacer_met += s["pacer"]["met"]
        pacer_runs += s["pacer"]["runs"]
        cheaper.append("%s: Pacer %.2f, dynamic allocation %.2f executor-minutes" % (
            name, s["pacer"]["executor_minutes_median"], s["dynamic-allocation"]["executor_minutes_median"]))
        rows = "".join(
            "<tr><td style='text-align:left'><span style='color:%s'>&#9679;</span> %s</td><td>%d</td><td>%.1f s</td>"
            "<td>%.1f–%.1f s</td><td class='%s'>%d of %d</td><td>%.2f</td><td>%s</td></tr>" % (
                COLORS[c], c, v["runs"], v["runtime_s_median"], v["runtime_s_min"], v["runtime_s_max"],
                "met" if v["met"] == v["runs"] else "missed", v["met"], v["runs"], v["executor_minutes_median"],
                html.escape(", ".join(map(str, v["executors"])))) for c, v in s.items())
        max_time = max(max(r["runtime_s"] for r in rs) for rs in by_configuration.values())
        max_time = max(max_time, target_s) * 1.05
        max_executors = max(max(c for _, c in r["timeline"]) for rs in by_configuration.values() for r in rs)
        side = "".join("<div><h3 style='color:%s'>%s — median run: %.1f s, %s, %.2f executor-minutes</h3>%s</div>" % (
            COLORS[c], c, median_run(rs)["runtime_s"], median_run(rs)["verdict"], median_run(rs)["executor_minutes"],
            executors_svg(median_run(rs), max(max_executors, 1), max_time, width=460))
            for c, rs in by_configuration.items())
        every = "".join("<div><h3>%s, run %d: %.1f s, %s</h3>%s</div>" % (
            r["kind"], r["index"], r["runtime_s"], r["verdict"],
            executors_svg(r, max(max_executors, 1), max_time, width=460))
            for c, rs in by_configuration.items() for r in rs)
        profiling = ", ".join("%.1f s at %s" % (p["runtime_s"], p["scale_out"]) for p in w["profiling"])
        sections.append("""<h2>Workload %s: target %.0f s</h2>
<p class="note">Profiling runs (Pacer, no target; runtime at the scale-out the bridge chose): %s. %s.</p>
<table><tr><th>configuration</th><th>runs</th><th>runtime (median)</th><th>min–max</th><th>target met</th>
<th>executor-minutes (median)</th><th>executors</th></tr>%s</table>
<h3>Runtime against executor-minutes</h3>%s
<h3>Executors over time</h3><p class="note">Each configuration's median run. Blue: registered executors;
shaded bands: Spark jobs; dashed line: the target (green when met, red when missed).</p>
<div class="side">%s</div>
<details><summary>every run</summary><div class="side">%s</div></details>""" % (
            html.escape(name), target_s, html.escape(profiling), html.escape(TARGET_RULE.capitalize()), rows,
            tradeoff_svg(by_configuration, target_s), side, every))
    note = ("Example applications on a local Spark standalone cluster (one worker, %d one-core executors at most), "
            "%d round(s) of interleaved runs per configuration, %s. Runtime, executors and executor-minutes of every "
            "configuration come from Spark's event log. %s." % (
                MAX_EXECUTORS, results["rounds"], html.escape(results["date"]), html.escape("; ".join(cheaper))))
    headline = "Pacer met %d of %d runtime targets" % (pacer_met, pacer_runs)
    Path(path).write_text(html_page("Pacer against dynamic and static allocation", note, headline,
                          pacer_runs > 0 and pacer_met == pacer_runs, "".join(sections), max_width=980))
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
