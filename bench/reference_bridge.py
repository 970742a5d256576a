"""A bridge written the way existing bridges are: one pyzmq REP socket, answering strictly in
turn; parses the JSON envelope and replies. The reference for `pacer-bridge bench`.

Usage: python bench/reference_bridge.py tcp://127.0.0.1:5556
"""

import itertools
import json
import signal
import sys

import zmq


def main():
    endpoint = sys.argv[1]
    context = zmq.Context()
    socket = context.socket(zmq.REP)
    socket.setsockopt(zmq.LINGER, 0)
    socket.bind(endpoint)
    ids = itertools.count(1)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    while running[0]:
        if not socket.poll(100):
            continue
        message = json.loads(socket.recv())
        payload = message["payload"]
        if message["event_type"] == "APPLICATION_START":
            reply = {"app_event_id": str(next(ids)), "recommended_scale_out": payload["app_specs"]["max_executors"]}
        else:
            reply = {"app_event_id": payload["app_event_id"], "recommended_scale_out": payload["num_executors"]}
        socket.send(json.dumps(reply).encode())
    socket.close()
    context.term()


if __name__ == "__main__":
    main()
