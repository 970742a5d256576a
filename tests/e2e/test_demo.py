"""The reduced demo (one profiling run, one adaptive run) produces its report, and Spark
applied at least one scale-out change Pacer asked for."""

import json
import subprocess
import sys

from harness import REPO


def test_quick_demo(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    last_line = done.stdout.strip().splitlines()[-1]
    assert last_line.endswith("report.html") and (out / "report.html").exists(), done.stdout
    page = (out / "report.html").read_text()
    assert "Pacer met" in page and "<svg" in page
    runs = json.loads((out / "runs.json").read_text())
    assert [r["kind"] for r in runs] == ["profiling", "adaptive"]
    # Pacer requested executor totals, and Spark carried them out (killed idle executors or
    # started new ones after the start-up).
    assert any(r["requests"] for r in runs), runs
    assert any(r["killed"] > 0 or r["added_after_start"] > 0 for r in runs), runs
    assert "[demo" in done.stdout and "run 2/2" in done.stdout
