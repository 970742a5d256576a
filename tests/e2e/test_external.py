"""External executors on real standalone clusters (Spark 3.5 and 4.0): a Redis of the test's
own, `pacer-proxy dispatcher` and two `pacer-proxy worker` agents on 127.0.0.2 and 127.0.0.3
standing in for hosts, starting real executor JVMs for the running driver. Facts come from
Spark's event log (executor ids, hosts, the pool tag, which executor ran each task) and the
registry (`pacer-proxy status --json`)."""

import contextlib
import os
import signal
import subprocess
import threading
import time

import pytest

from pacer_testbed.facts import EventLog
from pacer_testbed.pool import Pool, process_alive
from pacer_testbed.spark import EXAMPLES, SparkCluster, SparkInstall, event_log_conf, pacer_conf, submit, submit_command
from pacer_testbed.standin import BridgeStandIn

VERSIONS = ["3.5", "4.0"]
SHUFFLE_APP = EXAMPLES / "shuffle_app.py"
WORKER_HOSTS = ("127.0.0.2", "127.0.0.3")


def recommend(at_start, after_jobs=None):
    """A bridge script: `at_start` executors, then `after_jobs[job id]` after that job; echo
    otherwise."""
    after_jobs = after_jobs or {}

    def script(message):
        kind, payload = message["event_type"], message["payload"]
        if kind == "APPLICATION_START":
            return at_start
        if kind == "JOB_END" and payload["job_id"] in after_jobs:
            return after_jobs[payload["job_id"]]
        return None

    return script


@pytest.fixture
def cluster(request, tmp_path):
    """A standalone master and, when the test's `worker_cores` mark says so, a worker."""
    callspec = getattr(request.node, "callspec", None)
    version = callspec.params.get("version", "3.5") if callspec else "3.5"
    marker = request.node.get_closest_marker("worker_cores")
    cores = marker.args[0] if marker else 0
    started = SparkCluster(SparkInstall(version), tmp_path / "spark", cores=cores).start()
    yield started
    started.stop()


@pytest.fixture
def pool(cluster, tmp_path):
    started = Pool(tmp_path / "pool", cluster.install, hosts=WORKER_HOSTS, cores=2).start()
    yield started
    started.stop()


def conf_for(cluster, pool, bridge, tmp_path, destination, **extra):
    conf = pacer_conf(cluster.install, bridge.endpoint, **pool.spark_conf(destination))
    conf.update(event_log_conf(tmp_path / "events"))
    conf["spark.customExtraListener.maxExecutors"] = "4"
    conf.update(extra)
    return conf


def run_app(cluster, conf, tmp_path, app_args):
    run = submit(cluster.install, cluster.master_url, conf, app_args, tmp_path / "driver.log", app=SHUFFLE_APP,
                 timeout=400)
    assert run.returncode == 0, run.describe()
    assert run.result and run.result["ok"], run.describe()
    return run, EventLog.only_one_in(tmp_path / "events")


class PidWatch:
    """Records the PID of every executor the workers run while the application runs."""

    def __init__(self, pool):
        self.pool = pool
        self.pids = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.is_set():
            try:
                for worker in self.pool.status()["workers"]:
                    for e in worker["executors"]:
                        self.pids[e["executor_id"]] = e["pid"]
            except RuntimeError:
                pass
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


@contextlib.contextmanager
def meanwhile(action):
    """Runs `action` (a fault to inject) on a thread while the block runs; waits for it at the
    end and raises what it raised."""
    failures = []

    def run():
        try:
            action()
        except BaseException as e:  # noqa: B902 - reported on the test's thread
            failures.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    thread.join(60)
    if failures:
        raise failures[0]


def wait_until(condition, what, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))


@pytest.mark.parametrize("version", VERSIONS)
def test_external_runs_every_task_on_pool_executors(version, cluster, pool, tmp_path):
    bridge = BridgeStandIn(recommend(4)).start()
    try:
        with PidWatch(pool) as watch:
            run, log = run_app(cluster, conf_for(cluster, pool, bridge, tmp_path, "external"), tmp_path,
                               ["--jobs", 2, "--records", 2000])
    finally:
        bridge.stop()
    external = log.external_executors()
    assert sorted(log.executors) == external, "the Master launched executors: %s" % log.executors
    assert len(external) == 4, log.executors
    assert all(int(e) >= 1_000_000 for e in external), external
    assert set(log.task_executors) <= set(external), "a task ran elsewhere"
    hosts = {log.executors[e]["host"] for e in set(log.task_executors)}
    assert hosts == set(WORKER_HOSTS), hosts
    workers = {log.executors[e]["attributes"]["PACER_WORKER"] for e in external}
    assert {w.split(":")[0] for w in workers} == set(WORKER_HOSTS)
    apps = cluster.master_state()["completedapps"] + cluster.master_state()["activeapps"]
    assert all(a.get("cores", 0) == 0 for a in apps if a["id"] == log.app_id), apps
    # The driver is gone: so are its executors' JVMs and their registry entries.
    assert watch.pids, "no executor seen in the registry"
    wait_until(lambda: not any(process_alive(p) for p in watch.pids.values()), "executor JVMs to exit", 30)
    wait_until(lambda: not pool.status()["applications"], "registry entries to go", 30)
    # The listener says which executors are external.
    assert "external executor %s registered on 127.0.0." % external[0] in run.driver_log


@pytest.mark.worker_cores(2)
def test_internal_starts_no_external_executor(cluster, pool, tmp_path):
    bridge = BridgeStandIn(recommend(2)).start()
    try:
        _, log = run_app(cluster, conf_for(cluster, pool, bridge, tmp_path, "internal"), tmp_path,
                         ["--jobs", 1, "--records", 1000])
    finally:
        bridge.stop()
    assert log.executors and not log.external_executors(), log.executors
    assert not pool.status()["applications"]


@pytest.mark.worker_cores(2)
@pytest.mark.parametrize("version", VERSIONS)
def test_burst_goes_beyond_the_cluster_manager_and_releases_external_first(version, cluster, pool, tmp_path):
    bridge = BridgeStandIn(recommend(4, {1: 1})).start()
    try:
        with PidWatch(pool) as watch:
            conf = conf_for(cluster, pool, bridge, tmp_path, "burst", **{"spark.cores.max": "2"})
            _, log = run_app(cluster, conf, tmp_path, ["--jobs", 5, "--records", 2000, "--pause-ms", 3000])
    finally:
        bridge.stop()
    external = log.external_executors()
    internal = sorted(set(log.executors) - set(external))
    assert len(external) == 2 and len(internal) == 2, log.executors
    assert {log.executors[e]["host"] for e in internal} == {"127.0.0.1"}
    # After job 1 the bridge asks for 1: the external executors go first, then one internal.
    job1_end = log.jobs[1][1]
    for e in external:
        removed = log.executors[e]["removed_ms"]
        assert removed is not None and removed - job1_end < 20_000, (e, log.executors[e], job1_end)
    assert sum(1 for e in internal if log.executors[e]["removed_ms"] is None) == 1, log.executors
    # Their processes were stopped (the Master would leave them running).
    for e in external:
        assert e in watch.pids
    ended_before = [p for e, p in watch.pids.items() if e in external]
    assert not any(process_alive(p) for p in ended_before)


def test_a_worker_killed_mid_job_costs_retries_not_the_result(cluster, tmp_path):
    pool = Pool(tmp_path / "pool", cluster.install, hosts=WORKER_HOSTS, cores=4).start()
    bridge = BridgeStandIn(recommend(4)).start()
    killed = {}

    def kill_when_busy():
        wait_until(lambda: len(bridge.of_type("JOB_START")) >= 2, "the second job", 120)
        victim = pool.workers["127.0.0.2"]
        killed["at"] = time.time() * 1000
        victim.kill()

    try:
        with meanwhile(kill_when_busy):
            _, log = run_app(cluster, conf_for(cluster, pool, bridge, tmp_path, "external"), tmp_path,
                             ["--jobs", 4, "--records", 4000, "--ms-per-record", 2])
        assert "at" in killed, "the worker was not killed"
        # Its registry entry expires; nothing was placed on it after its death.
        status = pool.wait_for(lambda s: all(w["host"] != "127.0.0.2" for w in s["workers"]),
                               "the dead worker's entry to expire", 30)
        assert len(status["workers"]) == 1
        lost = [e for e, x in log.executors.items() if x["host"] == "127.0.0.2"]
        assert lost and all(log.executors[e]["removed_ms"] for e in lost), log.executors
        later = [e for e, x in log.executors.items() if x["added_ms"] > killed["at"] + 1000]
        assert later and all(log.executors[e]["host"] == "127.0.0.3" for e in later), log.executors
    finally:
        bridge.stop()
        pool.stop()


def test_redis_stopped_mid_job_and_restarted(cluster, pool, tmp_path):
    bridge = BridgeStandIn(recommend(2, {0: 4})).start()

    def bounce():
        wait_until(lambda: bridge.of_type("JOB_START"), "the first job", 120)
        pool.redis.stop()
        time.sleep(8)
        pool.redis.start()

    try:
        with meanwhile(bounce):
            _, log = run_app(cluster, conf_for(cluster, pool, bridge, tmp_path, "external"), tmp_path,
                             ["--jobs", 4, "--records", 2000, "--pause-ms", 2000])
    finally:
        bridge.stop()
    # The dispatcher placed on the workers it knew while Redis was away.
    assert len(log.external_executors()) == 4, log.executors
    pool.wait_for(lambda s: len(s["workers"]) == 2 and len(s["dispatchers"]) == 1,
                  "the daemons to register again", 30)
    assert "registry" in pool.dispatcher.log_text() and "reachable again" in pool.dispatcher.log_text()


@pytest.mark.worker_cores(2)
def test_burst_without_the_pool_runs_internal_with_one_warning(cluster, tmp_path):
    bridge = BridgeStandIn(recommend(4)).start()
    try:
        pool = Pool(tmp_path / "pool", cluster.install)  # never started: no Redis, no dispatcher
        conf = conf_for(cluster, pool, bridge, tmp_path, "burst", **{"spark.cores.max": "2"})
        run, log = run_app(cluster, conf, tmp_path, ["--jobs", 2, "--records", 1000])
    finally:
        bridge.stop()
    assert not log.external_executors() and len(log.executors) == 2, log.executors
    warnings = [l for l in run.driver_log.splitlines() if "external pool unavailable" in l]
    assert len(warnings) == 1, warnings


def test_a_killed_driver_leaves_no_executor_behind(cluster, pool, tmp_path):
    bridge = BridgeStandIn(recommend(2)).start()
    conf = conf_for(cluster, pool, bridge, tmp_path, "external")
    command = submit_command(cluster.install, cluster.master_url, conf,
                             ["--jobs", 50, "--records", 2000, "--pause-ms", 1000], app=SHUFFLE_APP)
    with open(tmp_path / "driver.log", "wb") as log:
        driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=cluster.install.env(),
                                  start_new_session=True)
    try:
        status = pool.wait_for(lambda s: sum(len(e) for e in s["applications"].values()) == 2,
                               "two external executors", 120)
        pids = [e["pid"] for w in status["workers"] for e in w["executors"]]
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(30)
        wait_until(lambda: not any(process_alive(p) for p in pids), "the executors to exit", 40)
        pool.wait_for(lambda s: not s["applications"], "their registry entries to go", 30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        bridge.stop()


def test_sbin_scripts_start_and_stop_the_pool_from_a_hosts_file(tmp_path):
    from pacer_testbed.pool import Redis
    from pacer_testbed.ports import free_port
    from pacer_testbed.repo import REPO

    install = SparkInstall("3.5")
    redis = Redis(tmp_path / "redis").start()
    conf_dir, pid_dir = tmp_path / "conf", tmp_path / "pids"
    conf_dir.mkdir()
    (conf_dir / "common.properties").write_text("\n".join([
        "redis.host=127.0.0.1", "redis.port=%d" % redis.port, "registry.ttl.ms=3000",
        "dispatcher.port=%d" % free_port(), "worker.port=%d" % free_port(), "worker.cores=1",
        "worker.memory=1g", "worker.spark.homes=%s" % install.home,
        "worker.work.dir=%s" % (tmp_path / "work"), ""]))
    (conf_dir / "hosts").write_text("[dispatcher]\n127.0.0.1\n\n[worker]\n127.0.0.2\n127.0.0.3\n")
    env = dict(install.env(), EXTERNAL_SPARK_CONF_DIR=str(conf_dir), EXTERNAL_SPARK_PID_DIR=str(pid_dir))
    pool = Pool(tmp_path / "status", install)
    pool.redis = redis

    def sbin(script):
        return subprocess.run([str(REPO / "sbin" / script)], env=env, capture_output=True, text=True, timeout=120)

    try:
        started = sbin("start-all.sh")
        assert started.returncode == 0, started.stdout + started.stderr
        status = pool.wait_for(lambda s: len(s["workers"]) == 2 and len(s["dispatchers"]) == 1,
                               "everything to register", 30)
        assert sorted(w["host"] for w in status["workers"]) == ["127.0.0.2", "127.0.0.3"]
        pid_files = sorted(p.name for p in pid_dir.glob("*.pid"))
        assert len(pid_files) == 3 and all(p.startswith("external-spark-") for p in pid_files), pid_files
        pids = [int(p.read_text()) for p in pid_dir.glob("*.pid")]
        assert all(process_alive(p) for p in pids)
        assert len(list(pid_dir.glob("*.log"))) == 3
        # A second start changes nothing.
        again = sbin("start-all.sh")
        assert again.returncode != 0 and "Stop it first" in again.stdout, again.stdout
        assert sorted(int(p.read_text()) for p in pid_dir.glob("*.pid")) == sorted(pids)
        stopped = sbin("stop-all.sh")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not any(process_alive(p) for p in pids)
        assert not list(pid_dir.glob("*.pid"))
        # Started again, the old logs are rotated.
        assert sbin("start-all.sh").returncode == 0
        assert len(list(pid_dir.glob("*.log.1"))) == 3
        assert sbin("stop-all.sh").returncode == 0
    finally:
        for pid_file in pid_dir.glob("*.pid"):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        redis.stop()
