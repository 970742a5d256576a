"""`pacer-bridge replay --bridge`: examples/custom_bridge.py (a bridge written for the original
listener's protocol) replayed on a recorded trace, beside the built-in policies."""

import json
import os
import subprocess
import sys

from pacer_testbed.bridge import require_binary
from pacer_testbed.ports import endpoint as free_endpoint, wait_listening
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import EXAMPLES, REPO

TRACE = (REPO / os.environ.get("TRACES_DIR", "../shared/traces") / "ellis-kmeans.csv").resolve()


def replay(*extra):
    return subprocess.run([str(require_binary()), "replay", "--trace", str(TRACE), "--target-ms", "840000",
                           "--policies", "ellis,fixed:36", "--format", "json", *extra],
                          capture_output=True, text=True, timeout=600)


def test_a_custom_bridge_is_replayed_beside_the_built_in_policies():
    endpoint = free_endpoint()
    bridge = subprocess.Popen([sys.executable, str(EXAMPLES / "custom_bridge.py"), endpoint],
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        wait_listening(endpoint, 30, bridge)
        done = replay("--bridge", endpoint)
    finally:
        stop_process_group(bridge)
    assert done.returncode == 0, done.stderr
    policies = json.loads(done.stdout)["policies"]
    assert set(policies) == {"bridge", "ellis", "fixed:36"}
    ours, fixed = policies["bridge"], policies["fixed:36"]
    assert ours["runs"] == fixed["runs"] > 0
    # The example keeps the scale-out it starts with, which it picks from the runtimes it has
    # seen (the profiling runs), so it never rescales and pays less than the maximum.
    assert ours["rescalings"] == 0
    assert 0 < ours["executor_minutes"] < fixed["executor_minutes"]


def test_an_unreachable_bridge_is_a_clear_error():
    done = replay("--bridge", free_endpoint())
    assert done.returncode != 0
    assert "--bridge" in done.stderr and "APPLICATION_START" in done.stderr, done.stderr
