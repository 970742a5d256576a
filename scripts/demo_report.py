"""What the demos share: a run's facts (from its Spark event log and the bridge's history), the
HTML report (inline SVG, no external files: executors over time with job boundaries and the
target, and runtime against target), the output folder and progress lines."""

import html
import signal
import time
from pathlib import Path

from pacer_testbed.facts import EventLog
from pacer_testbed.spark import EXAMPLE_APP, submit


def announcer(name):
    """A function printing `[name HH:MM:SS] message` lines."""
    def say(message):
        print("[%s %s] %s" % (name, time.strftime("%H:%M:%S"), message), flush=True)

    return say


def prepare_output(out):
    """Creates the output folder and its events/ folder, and makes SIGTERM stop a demo the way
    Ctrl-C does (everything it started is stopped); returns both folders."""
    out = Path(out).resolve()
    events = out / "events"
    events.mkdir(parents=True, exist_ok=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    return out, events


def submit_run(install, master_url, conf, workload, out, events, index, kind, target_s, history,
               app=EXAMPLE_APP, jar=True):
    """Runs the example application (`app`, with Pacer's jar unless `jar` is false) once (its
    driver log in `out`) and returns its facts; stops the demo if the run fails or computes a
    wrong result."""
    before = set(events.iterdir())
    result = submit(install, master_url, conf, workload, out / ("run-%d-driver.log" % index), jar=jar, app=app)
    if result.returncode != 0 or not (result.result and result.result["ok"]):
        raise SystemExit("run %d failed:\n%s" % (index, result.describe()))
    new = sorted(set(events.iterdir()) - before)
    return load_run(new[-1], index, kind, target_s, history)


def load_run(event_log, index, kind, target_s, history):
    """One run's facts from its event log and the bridge's history (a BridgeHistory); times
    relative to the application start, seconds."""
    log = EventLog(event_log)
    start, end, changes, jobs = log.start_ms, log.end_ms, log.executor_changes, log.jobs
    if start is None:
        start = min(t for t, _ in changes) if changes else 0
    if end is None:
        end = max([t for t, _ in changes] + [e for _, e in jobs.values() if e] + [start])
    runtime = (end - start) / 1000.0
    timeline = step_timeline(changes, start, runtime)
    external = set(log.external_executors())
    external_changes = []
    for executor_id in external:
        e = log.executors[executor_id]
        external_changes.append((e["added_ms"], 1))
        if e["removed_ms"] is not None:
            external_changes.append((e["removed_ms"], -1))
    executor_seconds = sum(c * (t2 - t1) for (t1, c), (t2, _) in zip(timeline, timeline[1:]))
    counts = [c for _, c in timeline]
    app_event_id = history.app_event_id(log.app_id) if log.app_id else None
    verdict = "profiling" if not target_s else ("met" if runtime <= target_s else "missed")
    return {
        "index": index,
        "app_event_id": app_event_id,
        "kind": kind,
        "target_s": target_s,
        "runtime_s": runtime,
        "verdict": verdict,
        "executor_minutes": executor_seconds / 60.0,
        "executors_seen": "%d–%d" % (min(counts[1:] or [0]), max(counts)),
        "timeline": timeline,
        # Executors of Pacer's external pool over time (empty when there were none).
        "timeline_external": step_timeline(external_changes, start, runtime) if external else [],
        "jobs": sorted(((s - start) / 1000.0, (e - start) / 1000.0, j) for j, (s, e) in jobs.items() if s and e),
        "killed": log.killed,
        "added_after_start": sum(1 for t, d in changes if d > 0 and (t - start) > 15_000),
        # What `pacer-bridge runs` lists as this run's scale-outs.
        "bridge_scale_outs": history.recommended_scale_outs(app_event_id) if app_event_id else [],
    }


def step_timeline(changes, start, runtime):
    """[(seconds since start, count)] of (epoch ms, +1/-1) changes, closed at `runtime`."""
    timeline, count = [(0.0, 0)], 0
    for t, delta in sorted(changes):
        count += delta
        timeline.append((max(0.0, (t - start) / 1000.0), count))
    timeline.append((runtime, count))
    return timeline


def executors_svg(run, max_executors, max_time, width=560):
    w, h, left, bottom = width, 170, 40, 28
    plot_w, plot_h = w - left - 15, h - bottom - 12
    x = lambda t: left + plot_w * t / max_time  # noqa: E731
    y = lambda n: 12 + plot_h * (1 - n / max_executors)  # noqa: E731
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-size="10" '
             'font-family="sans-serif">' % (w, h)]
    for i, (s, e, job) in enumerate(run["jobs"]):
        parts.append('<rect x="%.1f" y="12" width="%.1f" height="%.1f" fill="%s"><title>job %d: %.1f–%.1f s'
                     '</title></rect>' % (x(s), max(0.5, x(e) - x(s)), plot_h, "#eef3fb" if i % 2 else "#dde8f7",
                                          job, s, e))
    def steps(timeline, color, label):
        points = ["%.1f,%.1f %.1f,%.1f" % (x(t1), y(c), x(t2), y(c)) for (t1, c), (t2, _) in zip(timeline, timeline[1:])]
        parts.append('<polyline class="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
            label, color, " ".join(points)))

    steps(run["timeline"], "#1f77b4", "all-executors")
    if run.get("timeline_external"):
        steps(run["timeline_external"], "#ff7f0e", "external-executors")
    if run["target_s"]:
        color = "#2ca02c" if run["verdict"] == "met" else "#d62728"
        parts.append('<line x1="%.1f" y1="8" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>'
                     % (x(run["target_s"]), x(run["target_s"]), 12 + plot_h, color))
        parts.append('<text x="%.1f" y="9" fill="%s" text-anchor="middle">target %.0f s</text>' % (
            x(run["target_s"]), color, run["target_s"]))
    parts.append('<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>' % (left, 12 + plot_h, x(max_time),
                                                                                 12 + plot_h))
    parts.append('<line x1="%d" y1="12" x2="%d" y2="%.1f" stroke="black"/>' % (left, left, 12 + plot_h))
    for n in range(0, max_executors + 1, 2):
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (left - 4, y(n) + 3, n))
    step = 10 if max_time <= 120 else 30
    t = 0
    while t <= max_time:
        parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%d s</text>' % (x(t), 12 + plot_h + 13, t))
        t += step
    parts.append('<text x="8" y="%.1f" transform="rotate(-90 8 %.1f)" text-anchor="middle">executors</text>' % (
        12 + plot_h / 2, 12 + plot_h / 2))
    parts.append("</svg>")
    return "".join(parts)


def runtimes_svg(runs):
    w, h, left, bottom = 560, 40 + 26 * len(runs), 120, 20
    max_time = max(max(r["runtime_s"], r["target_s"] or 0) for r in runs) * 1.1
    x = lambda t: left + (w - left - 20) * t / max_time  # noqa: E731
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-size="11" '
             'font-family="sans-serif">' % (w, h)]
    for i, run in enumerate(runs):
        y0 = 10 + 26 * i
        color = {"met": "#2ca02c", "missed": "#d62728"}.get(run["verdict"], "#9e9e9e")
        parts.append('<text x="%d" y="%d" text-anchor="end">run %d (%s)</text>' % (left - 6, y0 + 13, run["index"],
                                                                                  run["kind"]))
        parts.append('<rect x="%d" y="%d" width="%.1f" height="16" fill="%s"/>' % (left, y0, x(run["runtime_s"]) - left,
                                                                                 color))
        parts.append('<text x="%.1f" y="%d">%.1f s</text>' % (x(run["runtime_s"]) + 4, y0 + 12, run["runtime_s"]))
        if run["target_s"]:
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-width="2"/>' % (
                x(run["target_s"]), y0 - 3, x(run["target_s"]), y0 + 19))
    parts.append('<text x="%d" y="%d">bar: runtime; black tick: target; green met, red missed, grey profiling'
                 '</text>' % (left, h - 5))
    parts.append("</svg>")
    return "".join(parts)


def write_html(runs, path, app_name, title="Pacer demo", note=None, headline=None):
    """`headline`: (text, good) for the banner instead of the count of targets met."""
    adaptive = [r for r in runs if r["target_s"]]
    met = sum(1 for r in adaptive if r["verdict"] == "met")
    all_met = adaptive and met == len(adaptive)
    headline, all_met = headline or ("Pacer met %d of %d runtime targets" % (met, len(adaptive)), all_met)
    max_executors = max(max(c for _, c in r["timeline"]) for r in runs)
    max_time = max(max(r["runtime_s"], r["target_s"] or 0) for r in runs) * 1.05
    rows = []
    for r in runs:
        rows.append("<tr><td>%d</td><td>%s</td><td>%s</td><td>%.1f s</td><td class='%s'>%s</td><td>%.2f</td>"
                    "<td>%s</td><td>%s</td></tr>" % (
                        r["index"], r["kind"], "%.0f s" % r["target_s"] if r["target_s"] else "–", r["runtime_s"],
                        r["verdict"], r["verdict"], r["executor_minutes"],
                        html.escape("→".join(map(str, r.get("bridge_scale_outs", []))) or "–"), r["executors_seen"]))
    sections = []
    for r in runs:
        heading = "Run %d — %s" % (r["index"], "profiling" if not r["target_s"] else "target %.0f s: %s in %.1f s" % (
            r["target_s"], r["verdict"], r["runtime_s"]))
        sections.append("<h3>%s</h3>%s" % (html.escape(heading), executors_svg(r, max(max_executors, 1), max_time)))
    body = """<table><tr><th>run</th><th>kind</th><th>target</th><th>runtime</th><th>met</th><th>executor-minutes</th>
<th>scale-outs recommended</th><th>executors seen</th></tr>%s</table>
<h2>Runtime against target</h2>%s
<h2>Executors over time</h2><p class="note">Blue: registered executors (all); orange: those of the
external pool; shaded bands: Spark jobs; dashed line: the runtime target (green when met, red when
missed).</p>%s""" % ("".join(rows), runtimes_svg(runs), "".join(sections))
    page = html_page(title, note or (
        "%s on a local Spark standalone cluster; bridge policy <code>pacer</code>. Profiling runs let the bridge "
        "explore scale-outs; adaptive runs have a runtime target." % html.escape(app_name)), headline, all_met, body)
    Path(path).write_text(page)
    return str(path)


def html_page(title, note, headline, good, body, max_width=900):
    """The reports' one page style: a title, a note (HTML), a green or red banner, then `body`."""
    return """<!doctype html><html><head><meta charset="utf-8"><title>%s report</title>
<style>body{font-family:sans-serif;margin:24px;max-width:%dpx}h1{margin-bottom:4px}
.banner{font-size:26px;font-weight:bold;padding:12px 16px;border-radius:6px;color:white;background:%s}
table{border-collapse:collapse;margin:16px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td.met{color:#2ca02c;font-weight:bold}td.missed{color:#d62728;font-weight:bold}.note{color:#555}
.side{display:flex;flex-wrap:wrap;gap:8px}.side h3{margin:8px 0 2px;font-size:14px}</style></head>
<body><h1>%s</h1><p class="note">%s</p>
<div class="banner">%s</div>
%s
</body></html>""" % (html.escape(title), max_width, "#2ca02c" if good else "#d62728", html.escape(title), note,
                     html.escape(headline), body)
