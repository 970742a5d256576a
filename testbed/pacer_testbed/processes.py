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


def _stat_user_system_seconds(stat_path):
    with open(stat_path) as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _stat_cpu_seconds(stat_path):
    return sum(_stat_user_system_seconds(stat_path))


def user_system_cpu_seconds(pid):
    """The user and the system (kernel) CPU time `pid` has used so far (its threads included),
    from /proc/PID/stat."""
    return _stat_user_system_seconds("/proc/%d/stat" % pid)


def thread_cpu_seconds(pid):
    """CPU time of `pid`'s live threads so far, summed by thread name without its trailing
    number (`bridge-worker-0`, `-1`, ... count as `bridge-worker-`)."""
    by_name = {}
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open("%s/%s/comm" % (task_dir, tid)) as f:
                name = f.read().strip().rstrip("0123456789")
            by_name[name] = by_name.get(name, 0.0) + _stat_cpu_seconds("%s/%s/stat" % (task_dir, tid))
        except OSError:  # the thread ended meanwhile
            pass
    return by_name
