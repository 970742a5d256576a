"""pacer_testbed.facts.EventLog counts the executors registered at each job event in the
log's order of events (the listener bus's), not by timestamps."""

import json

from pacer_testbed.facts import EventLog


def added(executor_id, time_ms):
    return {"Event": "SparkListenerExecutorAdded", "Timestamp": time_ms, "Executor ID": executor_id,
            "Executor Info": {"Host": "127.0.0.1"}}


def removed(executor_id, time_ms, reason):
    return {"Event": "SparkListenerExecutorRemoved", "Timestamp": time_ms, "Executor ID": executor_id,
            "Removed Reason": reason}


def test_executors_at_job_events(tmp_path):
    events = [
        {"Event": "SparkListenerApplicationStart", "App ID": "app-1", "Timestamp": 0},
        added("0", 10), added("1", 11),
        # Posted before the job start, though its timestamp is a little later: registered at it.
        added("2", 21),
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": 20},
        # Posted after the job start, though its timestamp is earlier: not registered at it.
        added("3", 19),
        removed("1", 30, "Executor killed by driver."),
        {"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": 40},
        removed("2", 50, "Executor killed by driver."),
        removed("0", 60, "Worker shutting down"),
        {"Event": "SparkListenerApplicationEnd", "Timestamp": 70},
    ]
    path = tmp_path / "app-1"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    log = EventLog(path)
    assert log.executors_at(20) == 3  # by timestamps 0, 1 and 3: what the bus order corrects
    assert log.executors_at_job_events() == {
        (0, "JOB_START"): (3, 2),  # 0, 1, 2; the driver kills 1 and 2 later
        (0, "JOB_END"): (3, 1),  # 0, 2, 3; the driver kills 2 later
    }
