"""The one way to pick a loopback port: free ports below the kernel's ephemeral range (no
clash with port-0 binds), from a base that differs per process (no clash between a test and
a demo it starts)."""

import os
import socket
import time

_next_port = [21_000 + (os.getpid() % 400) * 20]


def free_port():
    """A loopback port that nothing is bound to now."""
    while True:
        port = _next_port[0]
        _next_port[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def endpoint(port=None):
    """A ZeroMQ TCP endpoint on 127.0.0.1 (a free port unless one is given)."""
    return "tcp://127.0.0.1:%d" % (port or free_port())


def wait_listening(endpoint_, timeout=30, process=None):
    """Blocks until a TCP connection to the endpoint succeeds; fails early if `process` exits."""
    host, port = endpoint_[len("tcp://"):].rsplit(":", 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s exited with %s before listening on %s" % (process.args, process.returncode,
                                                                           endpoint_))
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s after %d s" % (endpoint_, timeout))
