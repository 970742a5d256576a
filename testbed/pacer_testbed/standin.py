"""A bridge stand-in: a ZeroMQ REP server on loopback that answers like an existing bridge,
validates every message against PROTOCOL.md and keeps them, and answers from a script."""

import json
import threading
import time

import zmq

from pacer_testbed.ports import endpoint
from pacer_testbed.protocol_schema import validate


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
    echo the message's num_executors, or a Raw, Late or ForeignId answer. The first
    application it registers gets app_event_id "standin-1", the next "standin-2", ..."""

    def __init__(self, script=None, port=None):
        self.script = script or (lambda message: None)
        self.endpoint = endpoint(port)
        self.port = int(self.endpoint.rsplit(":", 1)[1])
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
