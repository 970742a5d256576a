"""Reproduces docs/EVALUATION.md: replays the recorded traces (from $TRACES_DIR, default
../shared/traces beside the repository) and synthetic traces of six scaling profiles, in every
cell — reference variant (fit, hold, profiling) × mode (plain, --learn) — under ellis, pacer and
the clairvoyant oracle-constant and oracle-frugal; prints one table per trace with its verdict
("dominates ellis: yes/no, mean cost ratio X"), a summary, and draws CVC against executor-minutes of every policy in the
fit/plain cell (docs/evaluation/cvc_vs_cost.svg).

Usage: python3 bench/evaluate.py   (after `cargo build --release -p pacer-bridge`; `make evaluate`)
       python3 bench/evaluate.py --held-out   (`make evaluate-held-out`: seeds 3 and 4 of every
       synthetic family instead, never used to choose anything, and no figure: a check that a
       change measured on the seeds above generalises)
       python3 bench/evaluate.py --late-minute-price P   (pacer priced as `pacer-bridge
       --late-minute-price P`; no figure, which shows the default)
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import dominating_floor

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "target" / "release" / "pacer-bridge"
POLICIES = ["ellis", "ellis-abe", "pacer", "oracle", "oracle-constant", "oracle-frugal", "static-max"]
COLORS = {"ellis": "#d62728", "ellis-abe": "#ff7f0e", "pacer": "#1f77b4", "oracle": "#2ca02c",
          "oracle-constant": "#9467bd", "oracle-frugal": "#8c564b", "static-max": "#7f7f7f"}
TRACES = REPO / (os.environ.get("TRACES_DIR") or "../shared/traces")
RECORDED = [("K-Means", TRACES / "ellis-kmeans.csv", 14 * 60_000),
            ("Logistic Regression", TRACES / "ellis-logisticregression.csv", 5 * 60_000)]
PROFILES = ("strong", "amdahl", "ushape", "flat", "overhead", "drift")
SYNTHETIC = [(profile, seed) for profile in PROFILES for seed in (1, 2)]
HELD_OUT = [(profile, seed) for profile in PROFILES for seed in (3, 4)]
# Flags every replay gets (`--late-minute-price`).
REPLAY_FLAGS = []


def replay_report(trace, target_ms, policies=POLICIES, learn=False, reference="fit", per_run=False):
    """`pacer-bridge replay`'s JSON report: "policies" (and with `per_run`, "runs")."""
    out = subprocess.run([str(BRIDGE), "replay", "--trace", str(trace), "--target-ms", str(target_ms),
                          "--policies", ",".join(policies), "--format", "json", "--reference", reference]
                         + REPLAY_FLAGS + (["--learn"] if learn else []) + (["--per-run"] if per_run else []),
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr.strip() or "pacer-bridge replay failed (exit %d)" % out.returncode)
    return json.loads(out.stdout)


def replay(trace, target_ms, policies=POLICIES, learn=False, reference="fit", per_run=False):
    report = replay_report(trace, target_ms, policies, learn, reference, per_run)
    return report["runs"] if per_run else report["policies"]


REFERENCES = ["fit", "hold", "profiling"]
MODES = [("plain", False), ("learn", True)]
CELL_POLICIES = ["ellis", "pacer", "oracle-constant", "oracle-frugal"]


def cells(trace, target_ms, runs=None):
    """Every reference variant × mode: {(reference, mode): result} for ellis, pacer and the
    two constant oracles; the fit/plain cell with every policy (the figure's). With a dict
    `runs`, each cell's replayed runs per policy (`replay --per-run`) are put in it too."""
    out = {}
    for reference in REFERENCES:
        for mode, learn in MODES:
            policies = POLICIES if (reference, mode) == ("fit", "plain") else CELL_POLICIES
            report = replay_report(trace, target_ms, policies, learn=learn, reference=reference,
                                   per_run=runs is not None)
            out[(reference, mode)] = report["policies"]
            if runs is not None:
                runs[(reference, mode)] = report["runs"]
    return out


# The replay's default range of scale-outs.
SCALE_OUTS = range(4, 37)


def minutes_over(row, target_ms):
    """A replayed run's (`replay --per-run`) minutes over its target; negative when it met it."""
    return (row["runtime_ms"] - target_ms) / 60_000


def constant_options(trace, target_ms):
    """Per reference variant, per replayed run: (minutes over the target, executor-minutes) at
    each constant scale-out of SCALE_OUTS, with clairvoyance. A constant policy's runs do not
    depend on the mode, so each reference is replayed once."""
    constant = {}
    for reference in REFERENCES:
        runs = replay(trace, target_ms, ["fixed:%d" % s for s in SCALE_OUTS], reference=reference, per_run=True)
        per_scale_out = [runs["fixed:%d" % s] for s in SCALE_OUTS]
        constant[reference] = [[(minutes_over(row, target_ms), row["executor_minutes"]) for row in rows]
                               for rows in zip(*per_scale_out)]
    return constant


def dominating(trace, target_ms, results, constant=None):
    """(lower bound, reached or None, the reached choice) of the mean cost ratio of the cheapest
    clairvoyant constant scale-out per run that dominates Ellis over the trace's cells
    (bench/dominating_floor.py; `results` as `cells` gives them, `constant` as
    `constant_options` does)."""
    constant = constant or constant_options(trace, target_ms)
    return dominating_floor.floor([(r["ellis"], constant[cell_reference])
                                   for (cell_reference, _), r in results.items()])


# The two kinds of run a policy is judged on, by what a clairvoyant constant scale-out can do.
REACHABLE, LOST = "reachable", "lost"


def reachable(options):
    """Whether some constant scale-out of a run's options (as `constant_options`) meets its target."""
    return any(over <= 0.0 for over, _ in options)


def run_classes(rows, options, target_ms):
    """Where a policy's executor-minutes and minutes late go, by kind of run: `reachable` (some
    constant scale-out meets the target) and `lost` (none does). `rows`: the policy's replayed
    runs (`replay --per-run`), `options`: the same runs' constant options (`constant_options`),
    in the same order. Per kind: runs, missed, executor-minutes, minutes late, and the
    clairvoyant's executor-minutes and minutes late (reachable: the cheapest scale-out meeting
    the target; lost: the fastest scale-out, the least lateness one scale-out can have)."""
    out = {kind: {"runs": 0, "missed": 0, "executor_minutes": 0.0, "minutes_late": 0.0,
                  "clairvoyant_executor_minutes": 0.0, "clairvoyant_minutes_late": 0.0}
           for kind in (REACHABLE, LOST)}
    assert len(rows) == len(options), "one list of constant options per replayed run"
    for row, run in zip(rows, options):
        met_by_some = reachable(run)
        kind = out[REACHABLE if met_by_some else LOST]
        late = max(0.0, minutes_over(row, target_ms))
        kind["runs"] += 1
        kind["missed"] += not row["met"]
        kind["executor_minutes"] += row["executor_minutes"]
        kind["minutes_late"] += late
        if met_by_some:
            kind["clairvoyant_executor_minutes"] += min(cost for over, cost in run if over <= 0.0)
        else:
            over, cost = min(run)
            kind["clairvoyant_executor_minutes"] += cost
            kind["clairvoyant_minutes_late"] += over
    return out


def add_classes(total, classes):
    for kind, figures in classes.items():
        into = total.setdefault(kind, dict.fromkeys(figures, 0.0))
        for metric, value in figures.items():
            into[metric] += value
    return total


def trace_classes(runs, constant, target_ms):
    """`run_classes` of ellis and pacer summed over a trace's cells (`runs` as `cells` fills
    it): {policy: {kind: figures}}."""
    total = {"ellis": {}, "pacer": {}}
    for (reference, _), cell_runs in runs.items():
        for policy in total:
            add_classes(total[policy], run_classes(cell_runs[policy], constant[reference], target_ms))
    return total


def lost_options(runs, constant):
    """The constant options (as `constant_options`) of every lost run of a trace's cells (`runs`
    as `cells` fills it), a cell's runs once per cell."""
    return [options for (reference, _) in runs for options in constant[reference] if not reachable(options)]


def cheapest_within_lateness(lost, minutes_late):
    """The least executor-minutes a clairvoyant constant scale-out per run needs to keep the
    `lost` runs' summed minutes late within `minutes_late`: each run takes the option minimizing
    executor-minutes + λ · minutes late, with λ bisected (on a log scale) to the smallest price
    that keeps within it (a point of the convex hull, so an upper bound within one run's step).
    None if not even the fastest scale-out of every run keeps within it."""
    def at(price):
        chosen = [min(options, key=lambda o: o[1] + price * o[0]) for options in lost]
        return sum(cost for _, cost in chosen), sum(over for over, _ in chosen)

    if at(1e12)[1] > minutes_late + 1e-9:
        return None
    low, high = 1e-6, 1e12
    for _ in range(80):
        middle = math.sqrt(low * high)
        low, high = (low, middle) if at(middle)[1] <= minutes_late + 1e-9 else (middle, high)
    return at(high)[0]


def lost_frontier_line(classes, lost):
    """What clairvoyance buys on the lost runs: the least executor-minutes at Ellis's and at
    pacer's minutes late there."""
    e, p = classes["ellis"][LOST], classes["pacer"][LOST]
    at_ellis = cheapest_within_lateness(lost, e["minutes_late"])
    at_pacer = cheapest_within_lateness(lost, p["minutes_late"])
    show = lambda x: "-" if x is None else "%.0f" % x  # noqa: E731
    print("lost runs, least executor-minutes of a clairvoyant constant scale-out per run: %s at Ellis's %.0f "
          "minutes late (Ellis: %.0f), %s at pacer's %.0f (pacer: %.0f)\n" % (
              show(at_ellis), e["minutes_late"], e["executor_minutes"], show(at_pacer), p["minutes_late"],
              p["executor_minutes"]))


def classes_table(classes):
    """The kinds of run of `trace_classes` (or their sum over traces) as a table."""
    print("| runs (all cells) | count | missed ellis / pacer | executor-min ellis / pacer / clairvoyant "
          "| minutes late ellis / pacer / clairvoyant |")
    print("|---|---|---|---|---|")
    for kind, label in ((REACHABLE, "reachable (a constant scale-out meets the target; clairvoyant: the cheapest that does)"),
                        (LOST, "lost (none does; clairvoyant: the fastest)")):
        e, p = classes["ellis"][kind], classes["pacer"][kind]
        print("| %s | %d | %d / %d | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f |" % (
            label, e["runs"], e["missed"], p["missed"], e["executor_minutes"], p["executor_minutes"],
            e["clairvoyant_executor_minutes"], e["minutes_late"], p["minutes_late"],
            e["clairvoyant_minutes_late"]))
    print()


def cell_ok(result):
    """The issue's goal in one cell: no more executor-minutes than Ellis, and at most one more
    run over the target."""
    e, p = result["ellis"], result["pacer"]
    one_run = 1.0 / e["runs"]
    return p["executor_minutes"] <= e["executor_minutes"] + 1e-9 and p["cvc"] <= e["cvc"] + one_run + 1e-9


def cost_ratio(result, policy="pacer"):
    return result[policy]["executor_minutes"] / result["ellis"]["executor_minutes"]


def verdict(results):
    """Over all cells of a trace: every cell ok, summed CVC and summed CVS no worse than
    Ellis's. Returns (dominates, mean cost ratio)."""
    total = lambda policy, metric: sum(r[policy][metric] for r in results.values())  # noqa: E731
    dominates = (all(cell_ok(r) for r in results.values())
                 and total("pacer", "cvc") <= total("ellis", "cvc") + 1e-9
                 and total("pacer", "cvs_min") <= total("ellis", "cvs_min") + 1e-9)
    ratios = [cost_ratio(r) for r in results.values()]
    return dominates, sum(ratios) / len(ratios)


def table(name, target_ms, results, floor):
    runs = next(iter(results.values()))["ellis"]["runs"]
    print("### %s (target %.0f min, %d replayed runs)" % (name, target_ms / 60_000, runs))
    print()
    print("| reference | mode | CVC ellis / pacer / oracle-constant | CVS min ellis / pacer | "
          "executor-min ellis / pacer / oracle-constant / oracle-frugal | cost ratio | rescalings ellis / pacer | cell |")
    print("|---|---|---|---|---|---|---|---|")
    for (reference, mode), r in results.items():
        e, p, o, f = r["ellis"], r["pacer"], r["oracle-constant"], r["oracle-frugal"]
        print("| %s | %s | %.3f / %.3f / %.3f | %.2f / %.2f | %.1f / %.1f / %.1f / %.1f | %.2f | %.2f / %.2f | %s |" % (
            reference, mode, e["cvc"], p["cvc"], o["cvc"], e["cvs_min"], p["cvs_min"], e["executor_minutes"],
            p["executor_minutes"], o["executor_minutes"], f["executor_minutes"], cost_ratio(r), e["rescalings"],
            p["rescalings"],
            "ok" if cell_ok(r) else "**no**"))
    dominates, ratio = verdict(results)
    frugal = [cost_ratio(r, "oracle-frugal") for r in results.values()]
    print()
    print("%s: dominates ellis: %s, mean cost ratio %.2f (clairvoyant floor at oracle CVC: %.2f; the cheapest "
          "clairvoyant constant scale-outs that dominate Ellis: %s)" % (
              name, "yes" if dominates else "no", ratio, sum(frugal) / len(frugal), floor_text(floor)))
    print()
    return dominates, [cost_ratio(r) for r in results.values()], frugal


def floor_text(floor):
    """The bounds to two decimals, each rounded away from the other: the lower one down, the
    reached one up."""
    lower, reached, _ = floor
    return "≥ %.2f, %s reached" % (math.floor(lower * 100) / 100,
                                    "-" if reached is None else "%.2f" % (math.ceil(reached * 100) / 100))


def svg(panels, path):
    """One scatter per trace: executor-minutes (x) against CVC (y), a point per policy."""
    columns = 5
    rows = (len(panels) + columns - 1) // columns
    w, h, pad = 230, 190, 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="10">' % (columns * w, rows * h + 30)]
    out.append('<rect width="100%" height="100%" fill="white"/>')
    for k, policy in enumerate(POLICIES):
        x = 10 + k * 130
        out.append('<circle cx="%d" cy="15" r="5" fill="%s"/><text x="%d" y="19">%s</text>' % (
            x, COLORS[policy], x + 9, policy))
    for i, (title, result) in enumerate(panels):
        ox, oy = (i % columns) * w, 30 + (i // columns) * h
        xs = [result[p]["executor_minutes"] for p in POLICIES]
        x_max = max(xs) * 1.1
        px = lambda v: ox + pad + (w - pad - 10) * v / x_max  # noqa: E731
        py = lambda v: oy + h - pad + 5 - (h - pad - 25) * v  # noqa: E731
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (ox + pad, oy + 14, title))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (px(0), py(0), px(x_max), py(0)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (px(0), py(0), px(0), py(1)))
        for v in (0, 0.5, 1):
            out.append('<text x="%d" y="%d" text-anchor="end">%.1f</text>' % (px(0) - 3, py(v) + 3, v))
        out.append('<text x="%d" y="%d" text-anchor="end">%.0f</text>' % (px(x_max), py(0) + 12, x_max))
        out.append('<text x="%d" y="%d" text-anchor="middle">executor-minutes per run</text>' % (
            (px(0) + px(x_max)) / 2, py(0) + 24))
        out.append('<text x="%d" y="%d" transform="rotate(-90 %d %d)" text-anchor="middle">CVC</text>' % (
            ox + 10, py(0.5), ox + 10, py(0.5)))
        for policy in POLICIES:
            m = result[policy]
            out.append('<circle cx="%.1f" cy="%.1f" r="5" fill="%s" fill-opacity="0.8"><title>%s: CVC %.3f, '
                       '%.1f executor-minutes</title></circle>' % (
                           px(m["executor_minutes"]), py(m["cvc"]), COLORS[policy], policy, m["cvc"],
                           m["executor_minutes"]))
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))


def synthetic(tmp, families=None):
    """(name, trace, target) of every synthetic family and seed (`SYNTHETIC` unless given),
    written to `tmp`."""
    traces = []
    for profile, seed in SYNTHETIC if families is None else families:
        trace = Path(tmp) / ("%s-%d.csv" % (profile, seed))
        generated = subprocess.run([sys.executable, str(REPO / "bench" / "synthetic_trace.py"), "--profile",
                                    profile, "--seed", str(seed)], check=True, capture_output=True, text=True)
        trace.write_text(generated.stdout)
        traces.append(("synthetic %s, seed %d" % (profile, seed), trace, int(generated.stderr.strip())))
    return traces


def main():
    if not BRIDGE.exists():
        sys.exit("build it first: cargo build --release -p pacer-bridge")
    parser = argparse.ArgumentParser(description="The tables of docs/EVALUATION.md and its figure.")
    parser.add_argument("--held-out", action="store_true", help="seeds 3 and 4 of every synthetic family")
    parser.add_argument("--late-minute-price", metavar="P", help="pacer-bridge's --late-minute-price")
    args = parser.parse_args()
    held_out = args.held_out
    if args.late_minute_price is not None:
        # pacer-bridge checks the value; its error ends the run at the first replay.
        REPLAY_FLAGS.append("--late-minute-price=%s" % args.late_minute_price)
    panels, verdicts, ratios, floors, all_classes, all_lost = [], [], [], [], {"ellis": {}, "pacer": {}}, []
    with tempfile.TemporaryDirectory() as tmp:
        print("## Every trace, reference variant and mode\n")
        for name, trace, target in synthetic(tmp, HELD_OUT) if held_out else RECORDED + synthetic(tmp):
            runs = {}
            results = cells(trace, target, runs)
            constant = constant_options(trace, target)
            floor = dominating(trace, target, results, constant)
            dominates, trace_ratios, trace_floors = table(name, target, results, floor)
            classes = trace_classes(runs, constant, target)
            classes_table(classes)
            all_lost.extend(lost_options(runs, constant))
            for policy, kinds in classes.items():
                add_classes(all_classes[policy], kinds)
            verdicts.append((name, dominates, sum(trace_ratios) / len(trace_ratios),
                             sum(trace_floors) / len(trace_floors), floor))
            ratios.extend(trace_ratios)
            floors.extend(trace_floors)
            panels.append((name.replace("synthetic ", "").replace(", seed ", "-"), results[("fit", "plain")]))
    print("## Summary\n")
    print("| trace | dominates ellis | mean cost ratio | oracle-frugal's | cheapest clairvoyant that dominates |")
    print("|---|---|---|---|---|")
    for name, dominates, ratio, frugal, floor in verdicts:
        print("| %s | %s | %.2f | %.2f | %s |" % (name, "yes" if dominates else "no", ratio, frugal, floor_text(floor)))
    print()
    reached = [f[1] for *_, f in verdicts]
    print("all traces: dominates ellis on %d of %d, mean cost ratio over %d cells %.3f (goal ≤ 0.85; "
          "oracle-frugal %.3f; the cheapest clairvoyant constant scale-outs that dominate Ellis on every trace: "
          "≥ %.3f, %s reached)" % (
              sum(v[1] for v in verdicts), len(verdicts), len(ratios), sum(ratios) / len(ratios),
              sum(floors) / len(floors), math.floor(1000 * sum(f[0] for *_, f in verdicts) / len(verdicts)) / 1000,
              "-" if None in reached else "%.3f" % (math.ceil(1000 * sum(reached) / len(reached)) / 1000)))
    print()
    print("### Where the executor-minutes and the minutes late go, over all traces\n")
    classes_table(all_classes)
    lost_frontier_line(all_classes, all_lost)
    if held_out or REPLAY_FLAGS:
        return
    figure = REPO / "docs" / "evaluation" / "cvc_vs_cost.svg"
    svg(panels, figure)
    print("figure: %s" % figure.relative_to(REPO))


if __name__ == "__main__":
    main()
