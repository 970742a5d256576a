"""Stopping what the test bed starts: each process runs in its own session
(start_new_session=True), so its PID is also the ID of the group of everything it started."""

import os
import signal
import subprocess


def stop_process_group(process, grace=10):
    """SIGTERM to the process's group, SIGKILL after `grace` seconds; waits for the process."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    except ProcessLookupError:  # it exited meanwhile
        process.wait(timeout=grace)


def cpu_seconds(pid):
    """User + system CPU time `pid` has used so far (its threads included), from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
