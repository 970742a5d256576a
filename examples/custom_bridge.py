"""A minimal bridge for your own scale-out predictor.

Pacer's listener (and the original Scala listener) talk to this like to any bridge: a REQ
socket sends one JSON message per event, `{"event_type": ..., "payload": {...}}`, and waits
for `{"app_event_id": ..., "recommended_scale_out": N}` (see docs/PROTOCOL.md).
Replace `Predictor` with your model; everything else is plumbing.

Run:   python examples/custom_bridge.py tcp://127.0.0.1:5555
Then:  spark-submit ... --conf spark.customExtraListener.bridgeServiceAddress=tcp://127.0.0.1:5555
"""

import itertools
import json
import sys

import zmq


class Predictor:
    """Your policy. This one remembers each application's last runtime per scale-out and picks
    the smallest scale-out whose last runtime met the target (else the largest)."""

    def __init__(self):
        self.runtimes = {}  # app name -> {scale_out: runtime_ms}

    def initial(self, app):
        specs = app["app_specs"]
        low, high, target = specs["min_executors"], specs["max_executors"], specs["target_runtime"]
        known = self.runtimes.get(app["app_name"], {})
        meeting = [s for s, runtime in known.items() if runtime <= target]
        return min(meeting) if meeting else high if known else (low + high) // 2

    def after_job(self, app, job_end):
        return job_end["num_executors"]  # keep the scale-out: "no change"

    def finished(self, app, runtime_ms, scale_out):
        self.runtimes.setdefault(app["app_name"], {})[scale_out] = runtime_ms


def serve(endpoint, predictor):
    context = zmq.Context()
    socket = context.socket(zmq.REP)
    socket.bind(endpoint)
    ids = itertools.count(1)
    apps = {}  # app_event_id -> APPLICATION_START payload
    print("custom bridge on %s" % endpoint, flush=True)
    while True:
        try:
            message = json.loads(socket.recv())
            kind, payload = message["event_type"], message["payload"]
            if kind == "APPLICATION_START":
                app_event_id = str(next(ids))
                apps[app_event_id] = payload
                scale_out = predictor.initial(payload)
            else:
                app_event_id = payload["app_event_id"]
                scale_out = payload["num_executors"]  # the default answer: no change
                app = apps.get(app_event_id)
                if app and kind == "JOB_END":
                    scale_out = predictor.after_job(app, payload)
                elif app and kind == "APPLICATION_END":
                    predictor.finished(app, payload["app_time"] - app["app_time"], payload["num_executors"])
                    del apps[app_event_id]
            reply = {"app_event_id": app_event_id, "recommended_scale_out": int(scale_out)}
        except (ValueError, KeyError, TypeError) as error:
            # Always answer: a listener's REQ socket waits for a reply. Without a scale-out it
            # keeps its current one.
            reply = {"error": str(error)}
        socket.send(json.dumps(reply).encode())


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555", Predictor())
