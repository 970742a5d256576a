"""Facts about a run from machine-readable records, not from the driver log's wording:
Spark's event log (spark.eventLog.enabled: JSON lines, one file per application) for the
executors over time and the jobs, and the bridge's SQLite history (bridge/src/store.rs: tables
applications, jobs, stages, recommendations) for the app_event_id and the scale-outs it
recommended."""

import contextlib
import json
import sqlite3
from pathlib import Path


class EventLog:
    """One application's Spark event log. Times are epoch milliseconds, as Spark writes them."""

    def __init__(self, path):
        self.path = Path(path)
        self.app_id = None
        self.start_ms = None
        self.end_ms = None
        self.executor_changes = []  # (time, +1 added / -1 removed), in the log's order
        self.killed = 0  # executors removed because the driver killed them
        self.jobs = {}  # job id -> [submission time, completion time]
        # executor id -> {"host", "attributes", "added_ms", "removed_ms", "removed_reason"}
        self.executors = {}
        self.task_executors = []  # the executor id of every finished task attempt
        # (job id, "JOB_START" / "JOB_END") -> ids of the executors registered at that event
        self.registered_at_job = {}
        registered = set()
        for line in self.path.read_text().splitlines():
            event = json.loads(line)
            name = event.get("Event")
            if name == "SparkListenerApplicationStart":
                self.app_id = event.get("App ID")
                self.start_ms = event["Timestamp"]
            elif name == "SparkListenerApplicationEnd":
                self.end_ms = event["Timestamp"]
            elif name == "SparkListenerExecutorAdded":
                self.executor_changes.append((event["Timestamp"], 1))
                registered.add(event["Executor ID"])
                info = event.get("Executor Info", {})
                self.executors[event["Executor ID"]] = {
                    "host": info.get("Host"), "attributes": info.get("Attributes", {}),
                    "added_ms": event["Timestamp"], "removed_ms": None, "removed_reason": None}
            elif name == "SparkListenerExecutorRemoved":
                self.executor_changes.append((event["Timestamp"], -1))
                registered.discard(event["Executor ID"])
                if event["Executor ID"] in self.executors:
                    self.executors[event["Executor ID"]].update(
                        removed_ms=event["Timestamp"], removed_reason=event.get("Removed Reason"))
                if "killed" in event.get("Removed Reason", "").lower():
                    self.killed += 1
            elif name == "SparkListenerTaskEnd":
                self.task_executors.append(event["Task Info"]["Executor ID"])
            elif name == "SparkListenerJobStart":
                self.jobs.setdefault(event["Job ID"], [None, None])[0] = event["Submission Time"]
                self.registered_at_job[(event["Job ID"], "JOB_START")] = frozenset(registered)
            elif name == "SparkListenerJobEnd":
                self.jobs.setdefault(event["Job ID"], [None, None])[1] = event["Completion Time"]
                self.registered_at_job[(event["Job ID"], "JOB_END")] = frozenset(registered)

    @classmethod
    def only_one_in(cls, directory):
        """The event log of the one application that wrote into `directory`."""
        logs = sorted(Path(directory).iterdir())
        if len(logs) != 1 or not logs[0].is_file():
            raise AssertionError("expected one event log in %s, found %s" % (directory, [p.name for p in logs]))
        return cls(logs[0])

    def external_executors(self):
        """Ids of the executors Pacer's external pool started (attribute PACER_POOL=external)."""
        return sorted(i for i, e in self.executors.items() if e["attributes"].get("PACER_POOL") == "external")

    def executor_counts(self):
        """[(time, registered executors after this change)], in time order."""
        counts, count = [], 0
        for t, delta in sorted(self.executor_changes):
            count += delta
            counts.append((t, count))
        return counts

    def executors_at(self, time_ms):
        """Registered executors just after `time_ms`."""
        return sum(delta for t, delta in self.executor_changes if t <= time_ms)

    def peak_executors(self, since_ms, until_ms):
        """The most executors registered at any time in [since_ms, until_ms]."""
        return max([self.executors_at(since_ms)] + [c for t, c in self.executor_counts() if since_ms < t <= until_ms])

    def executors_at_job_events(self):
        """{(job id, "JOB_START" or "JOB_END"): (registered, killed_later)} for every job event.

        `registered`: the executors registered when Spark's listener bus delivered that event,
        counted in the log's order of events, not by their timestamps: the event log is written
        from its own queue of the listener bus, which delivers the events in the order they
        were posted, as the queue of Pacer's listener does. So an executor added a millisecond
        before a job was submitted, but posted after the job start (or the other way round),
        is counted exactly as the listener counted it.

        `killed_later`: how many of those the driver killed later (removed with "killed" in
        the reason). The event log does not record when a kill was requested, so each of them
        may already have been pending removal at the event, or not yet."""
        return {key: (len(ids), sum(1 for i in ids if "killed" in (self.executors[i]["removed_reason"] or "").lower()))
                for key, ids in self.registered_at_job.items()}

    def executors_at_end(self):
        """Registered executors when the application ended (its last job's end without an
        application end event)."""
        end = self.end_ms if self.end_ms is not None else max(e for _, e in self.jobs.values() if e)
        return self.executors_at(end)


class BridgeHistory:
    """The SQLite history of `pacer-bridge serve --db`, read-only (the bridge may still be
    writing it)."""

    def __init__(self, db):
        self.db = Path(db)

    def _rows(self, sql, *params):
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()

    def app_event_id(self, application_id):
        """The bridge's id of the run of this Spark application (its application id, as in the
        event log's "App ID"), or None."""
        rows = self._rows("SELECT app_event_id FROM applications WHERE application_id = ? ORDER BY start_ms",
                          application_id)
        return rows[-1][0] if rows else None

    def recommended_scale_outs(self, app_event_id):
        """The scale-outs the bridge recommended to this run, in order: the initial one, then each
        change (what `pacer-bridge runs` lists as scale-outs)."""
        return [r[0] for r in self._rows("SELECT to_scale_out FROM recommendations WHERE app_event_id = ? ORDER BY id",
                                         app_event_id)]

    def finished_runs(self):
        """How many runs have ended (0 while the database does not exist yet or is locked)."""
        try:
            return self._rows("SELECT COUNT(*) FROM applications WHERE end_ms IS NOT NULL")[0][0]
        except sqlite3.Error:
            return 0
