"""Reproduces docs/EVALUATION.md: replays the recorded traces (from $TRACES_DIR, default
../shared/traces beside the repository) and synthetic traces of four scaling profiles under
ellis, ellis-abe, pacer, the two clairvoyant bounds and static-max,
prints the tables, draws CVC against executor-minutes (docs/evaluation/cvc_vs_cost.svg),
repeats the recorded traces with the reference held inside each job's recorded scale-outs
(`--reference-outside hold`), and ellis and pacer with replayed runs joining the history
(`--learn`).

Usage: python3 bench/evaluate.py   (after `cargo build --release -p pacer-bridge`; `make evaluate`)
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "target" / "release" / "pacer-bridge"
POLICIES = ["ellis", "ellis-abe", "pacer", "oracle", "oracle-constant", "static-max"]
COLORS = {"ellis": "#d62728", "ellis-abe": "#ff7f0e", "pacer": "#1f77b4", "oracle": "#2ca02c",
          "oracle-constant": "#9467bd", "static-max": "#7f7f7f"}
TRACES = REPO / (os.environ.get("TRACES_DIR") or "../shared/traces")
RECORDED = [("K-Means", TRACES / "ellis-kmeans.csv", 14 * 60_000),
            ("Logistic Regression", TRACES / "ellis-logisticregression.csv", 5 * 60_000)]
SYNTHETIC = [(profile, seed) for profile in ("strong", "amdahl", "ushape", "flat") for seed in (1, 2)]


def replay(trace, target_ms, policies=POLICIES, learn=False, outside="fit"):
    out = subprocess.run([str(BRIDGE), "replay", "--trace", str(trace), "--target-ms", str(target_ms),
                          "--policies", ",".join(policies), "--format", "json", "--reference-outside", outside]
                         + (["--learn"] if learn else []),
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["policies"]


def goal(result):
    """The issue's goal: pacer closes half of Ellis's CVC gap to the oracle, with no more
    executor-minutes than Ellis and a smaller CVS."""
    e, p, o = result["ellis"], result["pacer"], result["oracle"]
    half_gap = (p["cvc"] - o["cvc"]) <= 0.5 * (e["cvc"] - o["cvc"]) + 1e-9
    return half_gap, p["executor_minutes"] <= e["executor_minutes"], p["cvs_min"] < e["cvs_min"]


def table(name, target_ms, result):
    print("### %s (target %.0f min, %d replayed runs)" % (name, target_ms / 60_000, result["ellis"]["runs"]))
    print()
    print("| policy | CVC | CVS min (all runs) | CVS min (violating) | executor-minutes | rescalings |")
    print("|---|---|---|---|---|---|")
    for policy in POLICIES:
        m = result[policy]
        print("| %s | %.3f | %.2f | %.2f | %.1f | %.2f |" % (
            policy, m["cvc"], m["cvs_min"], m["cvs_violating_min"], m["executor_minutes"], m["rescalings"]))
    half_gap, cheaper, smaller_cvs = goal(result)
    print()
    print("Goal: half of Ellis's CVC gap closed: %s; executor-minutes ≤ Ellis: %s; CVS < Ellis: %s" % (
        "yes" if half_gap else "no", "yes" if cheaper else "no", "yes" if smaller_cvs else "no"))
    print()


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


def learning(traces):
    """ellis and pacer when every replayed run joins the history of the next (--learn)."""
    print("## Learning from replayed runs (--learn)\n")
    print("| trace | ellis CVC | pacer CVC | oracle CVC | ellis executor-min | pacer executor-min | "
          "ellis CVS min | pacer CVS min | goal (half gap / cost / CVS) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, trace, target in traces:
        result = replay(trace, target, ["ellis", "pacer", "oracle"], learn=True)
        e, p, o = result["ellis"], result["pacer"], result["oracle"]
        print("| %s | %.3f | %.3f | %.3f | %.1f | %.1f | %.2f | %.2f | %s |" % (
            name, e["cvc"], p["cvc"], o["cvc"], e["executor_minutes"], p["executor_minutes"], e["cvs_min"],
            p["cvs_min"], " / ".join("yes" if part else "no" for part in goal(result))))
    print()


def held_reference(traces):
    """The recorded traces again, with each job's reference factor held at its nearest recorded
    scale-out instead of extrapolated (--reference-outside hold): how much of the oracle's
    advantage rests on extrapolation."""
    print("## Sensitivity: reference held inside the recorded scale-outs (--reference-outside hold)\n")
    print("| trace | " + " | ".join("%s CVC / executor-min" % p for p in POLICIES) + " |")
    print("|---|" + "---|" * len(POLICIES))
    for name, trace, target in traces:
        result = replay(trace, target, outside="hold")
        print("| %s | %s |" % (name, " | ".join(
            "%.3f / %.1f" % (result[p]["cvc"], result[p]["executor_minutes"]) for p in POLICIES)))
    print()


def main():
    if not BRIDGE.exists():
        sys.exit("build it first: cargo build --release -p pacer-bridge")
    panels = []
    traces = []
    print("## Recorded traces\n")
    for name, trace, target in RECORDED:
        result = replay(trace, target)
        table(name, target, result)
        panels.append((name, result))
        traces.append((name, trace, target))
    held_reference(traces)
    print("## Synthetic traces (bench/synthetic_trace.py)\n")
    with tempfile.TemporaryDirectory() as tmp:
        for profile, seed in SYNTHETIC:
            trace = Path(tmp) / ("%s-%d.csv" % (profile, seed))
            generated = subprocess.run([sys.executable, str(REPO / "bench" / "synthetic_trace.py"), "--profile",
                                        profile, "--seed", str(seed)], check=True, capture_output=True, text=True)
            trace.write_text(generated.stdout)
            target = int(generated.stderr.strip())
            result = replay(trace, target)
            table("synthetic %s, seed %d" % (profile, seed), target, result)
            panels.append(("%s-%d" % (profile, seed), result))
            traces.append(("synthetic %s, seed %d" % (profile, seed), trace, target))
        learning(traces)
    figure = REPO / "docs" / "evaluation" / "cvc_vs_cost.svg"
    svg(panels, figure)
    print("figure: %s" % figure.relative_to(REPO))


if __name__ == "__main__":
    main()
