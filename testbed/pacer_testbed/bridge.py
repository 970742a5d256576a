"""`pacer-bridge serve` (the release build) as a process of its own on a loopback endpoint."""

import subprocess

from pacer_testbed.ports import endpoint as free_endpoint, free_port, wait_listening
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import BRIDGE_BINARY


def require_binary():
    """The release build of pacer-bridge; exits with the command to build it when it is missing."""
    if not BRIDGE_BINARY.exists():
        raise SystemExit("build it first: cargo build --release -p pacer-bridge")
    return BRIDGE_BINARY


class BridgeProcess:
    """`pacer-bridge serve --bind ENDPOINT --db DB --policy POLICY` in its own session.
    `start()` returns once it listens; `stop()` stops its process group and returns its exit
    code. Its log goes to `log_path` (else to this process's stderr). With `http=True` it also
    serves metrics and the live view on a free loopback port (`http_url`). `binary` runs
    another build (a benchmark's "before"), else the release build of this checkout; `options` are
    more `serve` options."""

    def __init__(self, db, policy="pacer", bind=None, log_path=None, log_level=None, http=False, binary=None,
                 options=()):
        self.binary = binary
        self.endpoint = bind or free_endpoint()
        self.arguments = ["serve", "--bind", self.endpoint, "--db", str(db), "--policy", policy, *options]
        self.http_url = None
        if http:
            address = "127.0.0.1:%d" % free_port()
            self.arguments += ["--http", address]
            self.http_url = "http://%s/" % address
        if log_level:
            self.arguments += ["--log-level", log_level]
        self.log_path = log_path
        self.process = None
        self._log = None

    @property
    def pid(self):
        return self.process.pid

    @property
    def returncode(self):
        return self.process.returncode

    def start(self, timeout=30):
        self._log = open(self.log_path, "wb") if self.log_path else None
        self.process = subprocess.Popen([str(self.binary or require_binary())] + self.arguments, stderr=self._log,
                                        start_new_session=True)
        try:
            wait_listening(self.endpoint, timeout, self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace=30):
        if self.process is not None:
            stop_process_group(self.process, grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
