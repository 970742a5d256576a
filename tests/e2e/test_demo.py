"""The reduced demo (one profiling run, one adaptive run) produces its report, and Spark
applied at least one scale-out change Pacer asked for."""

import json
import subprocess
import sys

from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import REPO


def run_demo(script, out, *args):
    """Runs a demo script to its end; returns its standard output after checking that it
    succeeded and ended with its report's path."""
    demo = subprocess.Popen([sys.executable, str(REPO / "scripts" / script), "--out", str(out)] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = demo.communicate(timeout=900)
    finally:
        # On a timeout: SIGTERM makes the demo stop its cluster and bridge before it exits.
        stop_process_group(demo, grace=60)
    assert demo.returncode == 0, stdout[-4000:] + stderr[-4000:]
    last_line = stdout.strip().splitlines()[-1]
    assert last_line.endswith("report.html") and (out / "report.html").exists(), stdout
    return stdout


def test_quick_demo(tmp_path):
    out = tmp_path / "demo"
    stdout = run_demo("demo.py", out, "--quick")
    page = (out / "report.html").read_text()
    assert "Pacer met" in page and "<svg" in page
    runs = json.loads((out / "runs.json").read_text())
    assert [r["kind"] for r in runs] == ["profiling", "adaptive"]
    # The bridge recommended executor totals (its history database), and Spark carried them out
    # (its event log: killed idle executors or started new ones after the start-up).
    assert any(r["bridge_scale_outs"] for r in runs), runs
    assert any(r["killed"] > 0 or r["added_after_start"] > 0 for r in runs), runs
    assert "[demo" in stdout and "run 2/2" in stdout
    assert "lists 2 of the 2 runs" in stdout, "the bridge's live view shows both runs"
    assert "then open http://127.0.0.1:9464/" in stdout


def test_external_demo(tmp_path):
    out = tmp_path / "demo-external"
    run_demo("demo_external.py", out)
    page = (out / "report.html").read_text()
    assert 'class="external-executors"' in page and "With the external pool" in page
    internal, burst = json.loads((out / "runs.json").read_text())
    # Only the burst run had external executors, and it had more executors than the cluster
    # manager alone could give (who meets the target is the demo's finding, not asserted).
    assert not internal["timeline_external"]
    assert max(c for _, c in burst["timeline_external"]) > 0
    assert max(c for _, c in burst["timeline"]) > max(c for _, c in internal["timeline"])
