"""An I/O-bound PySpark application for trying Pacer.

Every job spreads work over partitions of uneven size; each task sleeps in proportion to its
partition's size (as a task waiting on storage or a remote service would), so more executors
really shorten the run even on a machine with few cores. Each job also computes a checksum that
is verified, and the run ends with one line:

    PACER_EXAMPLE_RESULT {"ok": true, "stages_by_job": {"0": [0], ...}, "runtime_s": ...}

Usage: spark-submit [Pacer options] examples/io_bound_app.py [--jobs N] [--partitions P]
           [--records R] [--ms-per-record MS] [--pause-ms MS]
"""

import argparse
import json
import time

from pyspark import SparkConf, SparkContext


def partition_sizes(records, partitions):
    """Uneven sizes (proportional to 1, 2, ..., P) that add up to `records`."""
    weights = list(range(1, partitions + 1))
    total_weight = sum(weights)
    sizes = [records * w // total_weight for w in weights]
    sizes[-1] += records - sum(sizes)
    return sizes


def make_task(ms_per_record):
    def task(item):
        index, size = item
        time.sleep(size * ms_per_record / 1000.0)
        # Work whose result is checked: the sum of squares of the partition's records.
        return sum(x * x for x in range(size))

    return task


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--ms-per-record", type=float, default=1.0)
    parser.add_argument("--pause-ms", type=int, default=0, help="idle time between jobs")
    args = parser.parse_args()

    # The application's name comes from spark-submit (--name); it defaults to this file's name.
    sc = SparkContext(conf=SparkConf())
    tracker = sc.statusTracker()
    sizes = partition_sizes(args.records, args.partitions)
    expected = sum(sum(x * x for x in range(size)) for size in sizes)
    task = make_task(args.ms_per_record)

    started = time.time()
    stages_by_job = {}
    ok = True
    for job in range(args.jobs):
        group = "pacer-example-%d" % job
        sc.setJobGroup(group, "I/O-bound job %d" % job)
        data = sc.parallelize(list(enumerate(sizes)), args.partitions)
        checksum = sum(data.map(task).collect())
        ok = ok and checksum == expected
        for job_id in tracker.getJobIdsForGroup(group):
            stages_by_job[str(job_id)] = sorted(tracker.getJobInfo(job_id).stageIds)
        print("job %d done, checksum %s" % (job, "ok" if checksum == expected else "WRONG"), flush=True)
        if args.pause_ms:
            time.sleep(args.pause_ms / 1000.0)

    result = {"ok": ok, "stages_by_job": stages_by_job, "runtime_s": round(time.time() - started, 3)}
    print("PACER_EXAMPLE_RESULT " + json.dumps(result), flush=True)
    sc.stop()


if __name__ == "__main__":
    main()
