"""Spark from a pyspark install: a standalone master and worker on 127.0.0.1, spark-submit of
an example application in client mode, and Pacer's configuration keys."""

import glob
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from pacer_testbed.ports import free_port
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import DIST, EXAMPLES, REPO

EXAMPLE_APP = EXAMPLES / "io_bound_app.py"
JARS = {"3.5": "pacer-spark-3.5_2.12.jar", "4.0": "pacer-spark-4.0_2.13.jar"}


class SparkInstall:
    """A pyspark install in .venv/spark-<version> (see scripts/ensure-deps)."""

    def __init__(self, version):
        self.version = version
        self.venv = REPO / ".venv" / ("spark-" + version)
        self.python = self.venv / "bin" / "python"
        homes = glob.glob(str(self.venv / "lib" / "python3*" / "site-packages" / "pyspark"))
        if not homes:
            raise RuntimeError("pyspark %s is not installed in %s; run scripts/ensure-deps python" % (version, self.venv))
        self.home = Path(homes[0])
        self.jar = DIST / JARS[version]

    def env(self, **extra):
        env = dict(os.environ)
        env.update(
            SPARK_HOME=str(self.home),
            PYSPARK_PYTHON=str(self.python),
            PYSPARK_DRIVER_PYTHON=str(self.python),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_HOSTNAME="127.0.0.1",
        )
        env.pop("SPARK_CONF_DIR", None)
        env.update({k: str(v) for k, v in extra.items()})
        return env


class SparkCluster:
    """One standalone master and one worker on 127.0.0.1 (no worker when `cores` is 0: the
    master then gives its applications no executor)."""

    def __init__(self, install, workdir, cores=6, memory="6g"):
        self.install = install
        self.workdir = Path(workdir)
        self.cores = cores
        self.memory = memory
        self.port = free_port()
        self.webui_port = free_port()
        self.worker_webui_port = free_port()
        self.processes = []
        self.master_url = "spark://127.0.0.1:%d" % self.port

    def _start(self, name, args):
        log = open(self.workdir / (name + ".log"), "wb")
        env = self.install.env(SPARK_WORKER_DIR=self.workdir / "work", SPARK_LOG_DIR=self.workdir)
        process = subprocess.Popen(
            [str(self.install.home / "bin" / "spark-class")] + args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def master_state(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/" % self.webui_port, timeout=5) as r:
            return json.load(r)

    def _wait(self, what, condition, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError("%s exited while waiting for %s; see %s" % (p.args, what, self.workdir))
            try:
                if condition():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("timed out waiting for %s; see %s" % (what, self.workdir))

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start(
            "master",
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
             "--webui-port", str(self.webui_port)],
        )
        self._wait("the master", lambda: self.master_state() is not None)
        if not self.cores:
            return self
        self._start(
            "worker",
            ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", str(self.cores),
             "--memory", self.memory, "--webui-port", str(self.worker_webui_port),
             "--work-dir", str(self.workdir / "work"), self.master_url],
        )
        self._wait("the worker", lambda: any(w["state"] == "ALIVE" for w in self.master_state()["workers"]))
        return self

    def stop(self):
        for process in reversed(self.processes):
            stop_process_group(process)
        self.processes = []


class SubmitResult:
    def __init__(self, returncode, stdout, driver_log, wall_s):
        self.returncode = returncode
        self.stdout = stdout
        self.driver_log = driver_log
        self.wall_s = wall_s

    @property
    def result(self):
        for line in self.stdout.splitlines():
            if line.startswith("PACER_EXAMPLE_RESULT "):
                return json.loads(line[len("PACER_EXAMPLE_RESULT "):])
        return None

    def describe(self):
        return "exit %s after %.1fs\n--- stdout ---\n%s\n--- driver log (tail) ---\n%s" % (
            self.returncode, self.wall_s, self.stdout[-3000:], self.driver_log[-6000:])


def submit_command(install, master_url, conf, app_args, jar=True, app=EXAMPLE_APP):
    """The spark-submit command line of an example app in client mode."""
    command = [str(install.home / "bin" / "spark-submit"), "--master", master_url]
    conf = dict(conf)
    name = conf.pop("spark.app.name", None)
    if name:
        command += ["--name", name]
    if jar:
        command += ["--jars", str(install.jar)]
    for key, value in conf.items():
        command += ["--conf", "%s=%s" % (key, value)]
    return command + [str(app)] + [str(a) for a in app_args]


def submit(install, master_url, conf, app_args, log_path, jar=True, timeout=600, app=EXAMPLE_APP):
    """spark-submit of an example app in client mode; the driver log is its stderr."""
    command = submit_command(install, master_url, conf, app_args, jar=jar, app=app)
    started = time.time()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, env=install.env(), start_new_session=True
        )
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(process)
            stdout, _ = process.communicate()
        except BaseException:
            # Ctrl-C or SIGTERM: the driver runs in its own session, so stop it explicitly.
            stop_process_group(process)
            raise
    wall = time.time() - started
    return SubmitResult(process.returncode, stdout.decode("utf-8", "replace"),
                        Path(log_path).read_text(errors="replace"), wall)


def pacer_conf(install, bridge_endpoint, library="bundled", **extra):
    """Pacer's keys for a test run; `library` is "bundled" (the .so inside the jar only) or
    "path" (spark.driver.extraLibraryPath pointing at dist/)."""
    conf = base_conf(install)
    conf.update({
        "spark.extraListeners": "dev.pacer.spark.PacerListener",
        "spark.customExtraListener.bridgeServiceAddress": bridge_endpoint,
        "spark.customExtraListener.minExecutors": "1",
        "spark.customExtraListener.maxExecutors": "6",
        "spark.customExtraListener.targetRuntime": "600000",
        "spark.customExtraListener.executorRequestTimeoutMs": "1000",
        "spark.customExtraListener.responseTimeoutMs": "5000",
    })
    if library == "path":
        conf["spark.driver.extraLibraryPath"] = str(DIST)
    conf.update(extra)
    return conf


def base_conf(install, **extra):
    """The keys of every test run, with Pacer or without: one-core executors of 512 MiB, the
    venv's Python, no web UI."""
    conf = {
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.pyspark.python": str(install.python),
        "spark.ui.enabled": "false",
    }
    conf.update(extra)
    return conf


def event_log_conf(directory):
    """The keys that make Spark write its event log into `directory` as one uncompressed file of
    JSON lines per application (Spark 4.0 would otherwise roll it into zstd-compressed parts;
    for 3.5 these are the defaults); pacer_testbed.facts.EventLog reads it."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": "file://%s" % Path(directory).resolve(),
        "spark.eventLog.rolling.enabled": "false",
        "spark.eventLog.compress": "false",
    }
