"""The listener in a real Spark 3.5 driver talking to `pacer-bridge serve` (not a stand-in):
a profiling run, then an adaptive run, recorded in the bridge's SQLite history."""

import json
import subprocess

from pacer_testbed.bridge import BridgeProcess
from pacer_testbed.facts import EventLog
from pacer_testbed.repo import BRIDGE_BINARY
from pacer_testbed.spark import event_log_conf, pacer_conf, submit


def test_listener_and_pacer_bridge(cluster_for, tmp_path):
    cluster = cluster_for("3.5")
    db = tmp_path / "history.db"
    bridge = BridgeProcess(db, policy="pacer", log_path=tmp_path / "bridge.log").start()
    try:
        app_args = ["--jobs", 4, "--partitions", 6, "--records", 1200]
        profiling = pacer_conf(cluster.install, bridge.endpoint, **{
            "spark.app.name": "Pacer e2e with Params(io)",
            "spark.customExtraListener.isAdaptive": "false",
            "spark.customExtraListener.maxExecutors": "4",
        })
        first = submit(cluster.install, cluster.master_url, dict(profiling, **event_log_conf(tmp_path / "events")),
                       app_args, tmp_path / "profiling.log")
        assert first.returncode == 0 and first.result["ok"], first.describe()

        adaptive = dict(profiling)
        adaptive["spark.customExtraListener.isAdaptive"] = "true"
        adaptive["spark.customExtraListener.targetRuntime"] = "120000"
        second = submit(cluster.install, cluster.master_url, adaptive, app_args, tmp_path / "adaptive.log")
        assert second.returncode == 0 and second.result["ok"], second.describe()
    finally:
        bridge.stop()
    assert bridge.returncode == 0, (tmp_path / "bridge.log").read_text()

    runs = json.loads(subprocess.run([str(BRIDGE_BINARY), "runs", "--db", str(db), "--format", "json"],
                                     check=True, capture_output=True, text=True).stdout)
    assert [r["app_name"] for r in runs] == ["Pacer e2e with Params(io)"] * 2, runs
    assert [r["adaptive"] for r in runs] == [False, True]
    assert all(r["runtime_ms"] and r["runtime_ms"] > 0 for r in runs), runs
    # The first profiling run explores the bottom of the range; one earlier profiling run → the
    # midpoint (its first job ran while executors were still starting: Ellis would not count it).
    assert runs[0]["scale_outs"][0] == 1, runs
    assert runs[1]["scale_outs"][0] == (1 + 4) // 2, runs
    # The listener carried out the 1: Spark's event log ends the profiling run with 1 executor.
    events = EventLog.only_one_in(tmp_path / "events")
    assert events.executors_at_end() == 1, (events.executor_counts(), first.describe())

    trace = subprocess.run([str(BRIDGE_BINARY), "export", "--db", str(db), "--app", "Pacer e2e with Params(io)"],
                           check=True, capture_output=True, text=True).stdout.splitlines()
    assert trace[0].startswith("ID|APP_ID|")
    assert len(trace) == 1 + 2 * 4, trace
