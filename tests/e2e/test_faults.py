"""Fault injection on a real standalone cluster: whatever the bridge does, the application
finishes with the correct result, the driver never exits early, a clear WARN says what
happened, and where the bridge comes back, scaling resumes. Wall times are reported against a
run without Pacer (pytest's terminal summary; docs/RELIABILITY.md)."""

import threading
import time

import pytest

from pacer_testbed.facts import EventLog
from pacer_testbed.ports import endpoint
from pacer_testbed.spark import event_log_conf, pacer_conf, submit
from pacer_testbed.standin import BridgeStandIn, ForeignId, Late, Raw

VERSION = "3.5"
APP_ARGS = ["--jobs", 4, "--partitions", 4, "--records", 400]
WALL_TIMES = {}


def run_app(cluster, tmp_path, conf, name, app_args=APP_ARGS):
    started = time.time()
    run = submit(cluster.install, cluster.master_url, conf, app_args, tmp_path / (name + ".log"),
                 jar="spark.extraListeners" in conf)
    WALL_TIMES[name] = time.time() - started
    assert run.returncode == 0, run.describe()
    assert run.result and run.result["ok"], run.describe()
    assert "Pacer disabled" not in run.driver_log, run.describe()
    return run


def conf_for(cluster, endpoint, **extra):
    conf = pacer_conf(cluster.install, endpoint, **{"spark.customExtraListener.responseTimeoutMs": "1500"})
    conf.update(extra)
    return conf


def first_answer_keeps(message):
    """APPLICATION_START: keep the 6 executors the application starts with; echo the rest."""
    return 6 if message["event_type"] == "APPLICATION_START" else None


def test_baseline_without_pacer(cluster_for, tmp_path):
    cluster = cluster_for(VERSION)
    conf = {"spark.executor.cores": "1", "spark.executor.memory": "512m",
            "spark.pyspark.python": str(cluster.install.python), "spark.ui.enabled": "false"}
    run_app(cluster, tmp_path, conf, "no Pacer (baseline)")


def test_bridge_never_started(cluster_for, tmp_path):
    cluster = cluster_for(VERSION)
    run = run_app(cluster, tmp_path, conf_for(cluster, endpoint()), "bridge never started")
    assert "did not answer APPLICATION_START within 1500 ms" in run.driver_log


def test_bridge_killed_mid_app(cluster_for, tmp_path):
    cluster = cluster_for(VERSION)
    bridge = BridgeStandIn(first_answer_keeps).start()
    killer = threading.Thread(target=lambda: (bridge.wait_for("JOB_END"), bridge.stop()))
    killer.start()
    run = run_app(cluster, tmp_path, conf_for(cluster, bridge.endpoint), "bridge killed mid-app")
    killer.join()
    # Registered: the listener reported its jobs under the app_event_id the stand-in gave it.
    assert bridge.of_type("JOB_END")[0]["app_event_id"] == "standin-1", bridge.messages
    assert "did not answer JOB_" in run.driver_log and "keeping the current scale-out" in run.driver_log


def test_bridge_stalled_past_the_reply_timeout(cluster_for, tmp_path):
    cluster = cluster_for(VERSION)

    def stall(message):
        return Late(4, None) if message["event_type"] in ("JOB_START", "JOB_END") else first_answer_keeps(message)

    bridge = BridgeStandIn(stall).start()
    try:
        run = run_app(cluster, tmp_path, conf_for(cluster, bridge.endpoint), "bridge stalled")
    finally:
        bridge.stop()
    assert "did not answer JOB_START within 1500 ms; keeping the current scale-out" in run.driver_log


def test_bridge_restarted_mid_app_and_scaling_resumes(cluster_for, tmp_path):
    cluster = cluster_for(VERSION)

    def dies_at_first_job_end(message):
        # The first bridge goes silent in the middle of an exchange, as a crashed one would.
        return Late(4) if message["event_type"] == "JOB_END" else first_answer_keeps(message)

    first = BridgeStandIn(dies_at_first_job_end).start()
    port = first.port
    restarted = []

    def restart():
        first.wait_for("JOB_END")
        first.stop()
        time.sleep(1)
        # The new bridge asks for 2 executors after every job.
        restarted.append(BridgeStandIn(lambda m: 2 if m["event_type"] == "JOB_END" else None, port=port).start())

    thread = threading.Thread(target=restart)
    thread.start()
    # Pauses between jobs, so that jobs are still to come when the bridge is back.
    app_args = ["--jobs", 6, "--partitions", 4, "--records", 400, "--pause-ms", 2000]
    try:
        conf = conf_for(cluster, first.endpoint, **event_log_conf(tmp_path / "events"))
        run = run_app(cluster, tmp_path, conf, "bridge restarted mid-app (2 s pauses)", app_args=app_args)
    finally:
        thread.join()
        for bridge in restarted:
            bridge.stop()
    assert "did not answer JOB_END within 1500 ms; keeping the current scale-out" in run.driver_log, \
        run.describe()
    assert "bridge tcp://127.0.0.1:%d is answering again" % port in run.driver_log, run.describe()
    # Scaling resumed: Spark ends the application with the 2 executors the new bridge asked for.
    events = EventLog.only_one_in(tmp_path / "events")
    assert events.executors_at_end() == 2, (events.executor_counts(), run.describe())
    assert restarted and any(m["event_type"] == "JOB_END" for m in restarted[0].messages)


@pytest.mark.parametrize("case", ["garbage", "wrong app_event_id", "negative and huge scale-outs"])
def test_bridge_answering_nonsense(case, cluster_for, tmp_path):
    cluster = cluster_for(VERSION)

    def nonsense(message):
        kind = message["event_type"]
        if kind == "APPLICATION_START":
            return 6
        if case == "garbage":
            return Raw(b"\x00\xffnot a reply")
        if case == "wrong app_event_id":
            return ForeignId(1)
        return -5 if kind == "JOB_START" else 1_000_000

    bridge = BridgeStandIn(nonsense).start()
    try:
        run = run_app(cluster, tmp_path, conf_for(cluster, bridge.endpoint), "bridge replying " + case)
    finally:
        bridge.stop()
    expected = {
        "garbage": "unusable reply from the bridge to JOB_START",
        "wrong app_event_id": "carries app_event_id 'not-standin-1' instead of 'standin-1'; ignored",
        "negative and huge scale-outs": "bridge recommended -5 executors in reply to JOB_START; using 1",
    }[case]
    assert expected in run.driver_log, run.describe()
    if case == "negative and huge scale-outs":
        assert "bridge recommended 1000000 executors in reply to JOB_END; using 6" in run.driver_log
