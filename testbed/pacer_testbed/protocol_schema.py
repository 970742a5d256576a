"""Every field of every message, as docs/PROTOCOL.md lists it, and a validator.

A type is one of: str, int, float, bool, [str], [int], or a nested dict (an object with exactly
those fields). "stages" is special: an object keyed by stage id (a decimal string) -> STAGE.
"""

import json

from .repo import REPO

RESOURCE_SPECS = {"cores": int, "memory": str, "memory_overhead": str}

APPLICATION_START = {
    "application_id": str,
    "app_name": str,
    "app_time": int,
    "is_adaptive": bool,
    "is_training": bool,
    "app_specs": {
        "algorithm_name": str,
        "algorithm_args": [str],
        "datasize_mb": int,
        "target_runtime": int,
        "min_executors": int,
        "max_executors": int,
    },
    "driver_specs": RESOURCE_SPECS,
    "executor_specs": RESOURCE_SPECS,
    "environment_specs": {
        "machine_type": str,
        "hadoop_version": str,
        "spark_version": str,
        "scala_version": str,
        "java_version": str,
    },
}

JOB_START = {"app_event_id": str, "app_time": int, "job_id": int, "num_executors": int}

METRICS = {
    "cpu_utilization": float,
    "gc_time_ratio": float,
    "shuffle_read_write_ratio": float,
    "input_output_ratio": float,
    "memory_spill_ratio": float,
}

STAGE = {
    "stage_id": str,
    "stage_name": str,
    "num_tasks": int,
    "parent_stage_ids": [int],
    "attempt_id": int,
    "failure_reason": str,
    "start_time": int,
    "end_time": int,
    "start_scale_out": int,
    "end_scale_out": int,
    "rescaling_time_ratio": float,
    "rdd_num_partitions": int,
    "rdd_num_cached_partitions": int,
    "rdd_mem_size": int,
    "rdd_disk_size": int,
    "metrics": METRICS,
}

JOB_END = dict(JOB_START, rescaling_time_ratio=float, stages="stages")

APPLICATION_END = {"app_event_id": str, "app_time": int, "num_executors": int}

PAYLOADS = {
    "APPLICATION_START": APPLICATION_START,
    "JOB_START": JOB_START,
    "JOB_END": JOB_END,
    "APPLICATION_END": APPLICATION_END,
}


def _check(value, expected, path, errors):
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            errors.append("%s: expected an object, got %r" % (path, value))
            return
        missing = sorted(set(expected) - set(value))
        extra = sorted(set(value) - set(expected))
        if missing:
            errors.append("%s: missing fields %s" % (path, missing))
        if extra:
            errors.append("%s: unexpected fields %s" % (path, extra))
        for name, kind in expected.items():
            if name in value:
                _check(value[name], kind, "%s.%s" % (path, name), errors)
    elif expected == "stages":
        if not isinstance(value, dict):
            errors.append("%s: expected an object keyed by stage id" % path)
            return
        for key, stage in value.items():
            if not key.isdigit():
                errors.append("%s: key %r is not a stage id" % (path, key))
            _check(stage, STAGE, "%s[%s]" % (path, key), errors)
            if isinstance(stage, dict) and stage.get("stage_id") != key:
                errors.append("%s[%s].stage_id is %r" % (path, key, stage.get("stage_id")))
    elif isinstance(expected, list):
        if not isinstance(value, list):
            errors.append("%s: expected a list, got %r" % (path, value))
            return
        for i, item in enumerate(value):
            _check(item, expected[0], "%s[%d]" % (path, i), errors)
    elif expected is int:
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append("%s: expected an int, got %r" % (path, value))
    elif expected is float:
        if not isinstance(value, float):
            errors.append("%s: expected a float, got %r" % (path, value))
        elif not 0.0 <= value or value != value:
            errors.append("%s: expected a non-negative ratio, got %r" % (path, value))
    elif not isinstance(value, expected):
        errors.append("%s: expected %s, got %r" % (path, expected.__name__, value))


def samples():
    """The sample events of protocol/samples/ (the repository's one set of example messages),
    as {file name: message}; the reply sample is not an event."""
    folder = REPO / "protocol" / "samples"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))
            if path.name != "reply.json"}


def validate(message):
    """Returns the list of ways `message` departs from docs/PROTOCOL.md (empty when valid)."""
    errors = []
    if not isinstance(message, dict) or set(message) != {"event_type", "payload"}:
        return ["envelope must be exactly {event_type, payload}, got %r" % (message,)]
    event_type = message["event_type"]
    if event_type not in PAYLOADS:
        return ["unknown event_type %r" % (event_type,)]
    _check(message["payload"], PAYLOADS[event_type], event_type, errors)
    return errors
