"""examples/custom_bridge.py speaks the protocol: a REQ client gets the documented replies."""

import json
import subprocess
import sys

import zmq

from pacer_testbed.ports import endpoint as free_endpoint
from pacer_testbed.processes import stop_process_group
from pacer_testbed.repo import EXAMPLES


def test_custom_bridge_example():
    endpoint = free_endpoint()
    bridge = subprocess.Popen([sys.executable, str(EXAMPLES / "custom_bridge.py"), endpoint],
                              stdout=subprocess.PIPE, start_new_session=True)
    context = zmq.Context()
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, 10_000)
    socket.connect(endpoint)

    def send(message):
        socket.send(json.dumps(message).encode())
        return json.loads(socket.recv())

    def start(time):
        return send({"event_type": "APPLICATION_START", "payload": {
            "application_id": "app-1", "app_name": "Demo", "app_time": time, "is_adaptive": True,
            "is_training": False, "app_specs": {"algorithm_name": "Demo", "algorithm_args": [], "datasize_mb": 0,
                                                  "target_runtime": 60_000, "min_executors": 2,
                                                  "max_executors": 10}}})

    try:
        first = start(0)
        assert first["recommended_scale_out"] == 6  # no history: the middle of the range
        app_event_id = first["app_event_id"]
        job = {"app_event_id": app_event_id, "app_time": 10, "job_id": 0, "num_executors": 6}
        assert send({"event_type": "JOB_START", "payload": job})["recommended_scale_out"] == 6
        assert send({"event_type": "JOB_END", "payload": dict(job, app_time=20, stages={},
                                                              rescaling_time_ratio=0.0)})["recommended_scale_out"] == 6
        send({"event_type": "APPLICATION_END", "payload": {"app_event_id": app_event_id, "app_time": 30_000,
                                                           "num_executors": 6}})
        assert start(100_000)["recommended_scale_out"] == 6  # 30 s at 6 met the target
        socket.send(b"not json")
        assert "error" in json.loads(socket.recv())
    finally:
        socket.close()
        context.term()
        stop_process_group(bridge)
