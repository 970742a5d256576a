"""Real components for the end-to-end tests: a Spark standalone cluster started from a pyspark
install, a ZeroMQ bridge stand-in that validates every message, and spark-submit."""

import glob
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import zmq

from protocol_schema import validate

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
EXAMPLE_APP = REPO / "examples" / "io_bound_app.py"

JARS = {"3.5": "pacer-spark-3.5_2.12.jar", "4.0": "pacer-spark-4.0_2.13.jar"}

_next_port = [21_000 + (os.getpid() % 400) * 20]


def free_port():
    """A free loopback port below the kernel's ephemeral range (no clash with port-0 binds)."""
    while True:
        port = _next_port[0]
        _next_port[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


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


def _stop_process_group(process, grace=10):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass


class SparkCluster:
    """One standalone master and one worker on 127.0.0.1."""

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
            _stop_process_group(process)
        self.processes = []


class Raw:
    """A scripted answer sent as these exact bytes."""

    def __init__(self, data):
        self.data = data


class Late:
    """A scripted answer sent after `seconds` (the listener may have given up by then)."""

    def __init__(self, seconds, answer=None):
        self.seconds = seconds
        self.answer = answer


class ForeignId:
    """A scripted answer carrying another application's app_event_id."""

    def __init__(self, scale_out):
        self.scale_out = scale_out


class BridgeStandIn:
    """A REP server answering like an existing bridge; it validates every field of every
    message against PROTOCOL.md. `script(message)` returns the recommended scale-out, None to
    echo the message's num_executors, or a Raw, Late or ForeignId answer."""

    def __init__(self, script=None, port=None):
        self.script = script or (lambda message: None)
        self.port = port or free_port()
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.messages = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = None
        self._context = zmq.Context()

    def start(self):
        socket_ = self._context.socket(zmq.REP)
        socket_.setsockopt(zmq.LINGER, 0)
        socket_.bind(self.endpoint)
        self._thread = threading.Thread(target=self._serve, args=(socket_,), daemon=True)
        self._thread.start()
        return self

    def _serve(self, socket_):
        app_ids = 0
        try:
            while not self._stop.is_set():
                if not socket_.poll(100):
                    continue
                raw = socket_.recv()
                try:
                    message = json.loads(raw.decode("utf-8"))
                except ValueError as e:
                    self.errors.append("not JSON: %s" % e)
                    socket_.send_json({"app_event_id": "", "recommended_scale_out": 0})
                    continue
                problems = validate(message)
                self.errors.extend(problems)
                self.messages.append(message)
                payload = message.get("payload", {})
                if message.get("event_type") == "APPLICATION_START":
                    app_ids += 1
                    app_event_id = "standin-%d" % app_ids
                    current = 0
                else:
                    app_event_id = payload.get("app_event_id", "")
                    current = payload.get("num_executors", 0)
                answer = self.script(message)
                if isinstance(answer, Late):
                    time.sleep(answer.seconds)
                    answer = answer.answer
                if isinstance(answer, Raw):
                    socket_.send(answer.data)
                    continue
                if isinstance(answer, ForeignId):
                    app_event_id, answer = "not-" + app_event_id, answer.scale_out
                socket_.send_json({
                    "app_event_id": app_event_id,
                    "recommended_scale_out": current if answer is None else answer,
                })
        finally:
            socket_.close(0)

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(30)
        self._context.term()

    def of_type(self, event_type):
        return [m["payload"] for m in self.messages if m.get("event_type") == event_type]

    def wait_for(self, event_type, timeout=120):
        """Blocks until a message of this type has arrived."""
        deadline = time.time() + timeout
        while not self.of_type(event_type):
            if time.time() > deadline:
                raise AssertionError("no %s reached the bridge" % event_type)
            time.sleep(0.1)


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


def submit(install, master_url, conf, app_args, log_path, jar=True, timeout=600, app=EXAMPLE_APP):
    """spark-submit of an example app in client mode; the driver log is its stderr."""
    command = [str(install.home / "bin" / "spark-submit"), "--master", master_url]
    conf = dict(conf)
    name = conf.pop("spark.app.name", None)
    if name:
        command += ["--name", name]
    if jar:
        command += ["--jars", str(install.jar)]
    for key, value in conf.items():
        command += ["--conf", "%s=%s" % (key, value)]
    command += [str(app)] + [str(a) for a in app_args]
    started = time.time()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, env=install.env(), start_new_session=True
        )
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_process_group(process)
            stdout, _ = process.communicate()
        except BaseException:
            # Ctrl-C or SIGTERM: the driver runs in its own session, so stop it explicitly.
            _stop_process_group(process)
            raise
    wall = time.time() - started
    return SubmitResult(process.returncode, stdout.decode("utf-8", "replace"),
                        Path(log_path).read_text(errors="replace"), wall)


def pacer_conf(install, bridge_endpoint, library="bundled", **extra):
    """Pacer's keys for a test run; `library` is "bundled" (the .so inside the jar only) or
    "path" (spark.driver.extraLibraryPath pointing at dist/)."""
    conf = {
        "spark.extraListeners": "dev.pacer.spark.PacerListener",
        "spark.customExtraListener.bridgeServiceAddress": bridge_endpoint,
        "spark.customExtraListener.minExecutors": "1",
        "spark.customExtraListener.maxExecutors": "6",
        "spark.customExtraListener.targetRuntime": "600000",
        "spark.customExtraListener.executorRequestTimeoutMs": "1000",
        "spark.customExtraListener.responseTimeoutMs": "5000",
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.pyspark.python": str(install.python),
        "spark.ui.enabled": "false",
    }
    if library == "path":
        conf["spark.driver.extraLibraryPath"] = str(DIST)
    conf.update(extra)
    return conf
