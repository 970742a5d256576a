"""The external pool on loopback: a Redis of its own (Debian's redis-server on a free port,
nothing saved), `pacer-proxy dispatcher`, and `pacer-proxy worker` agents on loopback aliases
(127.0.0.2, 127.0.0.3, ... stand in for hosts), each in its own session and stopped by PID."""

import json
import subprocess
import time
from pathlib import Path

from pacer_testbed.ports import free_port, wait_listening
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import REPO

PROXY_BINARY = REPO / "target" / "release" / "pacer-proxy"


def require_proxy():
    if not PROXY_BINARY.exists():
        raise SystemExit("build it first: cargo build --release -p pacer-proxy")
    return PROXY_BINARY


class Daemon:
    """A process in its own session with its output in `log`."""

    def __init__(self, command, log, env=None):
        self.command = [str(c) for c in command]
        self.log = Path(log)
        self.env = env
        self.process = None

    def start(self):
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        return self

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, grace=15):
        if self.process is not None:
            stop_process_group(self.process, grace)

    def kill(self):
        """SIGKILL to the daemon alone (not its group): as a crash would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Redis(Daemon):
    def __init__(self, workdir, port=None):
        self.port = port or free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", self.workdir], self.workdir / "redis.log")

    def start(self):
        super().start()
        wait_listening("tcp://127.0.0.1:%d" % self.port, 20, self.process)
        return self


class Pool:
    """Redis, one dispatcher and a worker per host. `conf` holds extra common.properties keys
    (given as --set); `registry_ttl_ms` is short so that a dead worker goes quickly."""

    def __init__(self, workdir, install, hosts=("127.0.0.2", "127.0.0.3"), cores=2, memory="2g",
                 selector="ROUND_ROBIN", registry_ttl_ms=3000, conf=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.install = install
        self.hosts = list(hosts)
        self.cores = cores
        self.memory = memory
        self.selector = selector
        self.conf = dict({"registry.ttl.ms": registry_ttl_ms}, **(conf or {}))
        self.redis = Redis(self.workdir / "redis")
        self.dispatcher_port = free_port()
        self.worker_ports = {host: free_port() for host in self.hosts}
        self.dispatcher = None
        self.workers = {}

    def _args(self):
        args = ["--redis-host", "127.0.0.1", "--redis-port", str(self.redis.port)]
        for key, value in self.conf.items():
            args += ["--set", "%s=%s" % (key, value)]
        return args

    def start_dispatcher(self):
        self.dispatcher = Daemon([require_proxy()] + self._args()
                                 + ["dispatcher", "--port", self.dispatcher_port, "--selector", self.selector],
                                 self.workdir / "dispatcher.log", env=self.install.env()).start()
        wait_listening("tcp://127.0.0.1:%d" % self.dispatcher_port, 20, self.dispatcher.process)

    def start_worker(self, host):
        self.workers[host] = Daemon(
            [require_proxy()] + self._args()
            + ["worker", "--host", host, "--port", self.worker_ports[host], "--cores", self.cores,
               "--memory", self.memory, "--spark-home", self.install.home,
               "--work-dir", self.workdir / ("work-" + host)],
            self.workdir / ("worker-%s.log" % host), env=self.install.env()).start()

    def start(self):
        self.redis.start()
        self.start_dispatcher()
        for host in self.hosts:
            self.start_worker(host)
        self.wait_for(lambda s: len(s["workers"]) == len(self.hosts) and len(s["dispatchers"]) == 1,
                      "the dispatcher and %d workers to register" % len(self.hosts))
        return self

    def status(self):
        """`pacer-proxy status --json`: dispatchers, workers (with their executors), per app."""
        out = subprocess.run([str(require_proxy())] + self._args() + ["status", "--json"], capture_output=True,
                             timeout=30)
        if out.returncode != 0:
            raise RuntimeError("pacer-proxy status failed: %s" % out.stderr.decode(errors="replace"))
        return json.loads(out.stdout)

    def wait_for(self, condition, what, timeout=60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.status()
                if condition(last):
                    return last
            except RuntimeError as e:
                last = str(e)
            time.sleep(0.5)
        raise AssertionError("timed out waiting for %s; last status: %s" % (what, last))

    def executor_pids(self):
        """PIDs of the executor JVMs the workers run, from the registry."""
        return [e["pid"] for w in self.status()["workers"] for e in w["executors"]]

    def spark_conf(self, destination):
        """The driver's keys for this pool."""
        return {
            "spark.customExtraListener.reschedule.dst.executor": destination,
            "spark.customExtraListener.redis.host": "127.0.0.1",
            "spark.customExtraListener.redis.port": str(self.redis.port),
        }

    def stop(self):
        for worker in self.workers.values():
            worker.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self.redis.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def process_alive(pid):
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
