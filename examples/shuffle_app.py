"""A PySpark application with a shuffle, for trying Pacer's external executors.

Each job groups records by key (a shuffle between two stages); map tasks sleep a little per
record, as tasks waiting on storage would, so more executors shorten the run on a small
machine. Each job's sums are checked against the ones computed on the driver, and the run ends
with one line:

    PACER_EXAMPLE_RESULT {"ok": true, "jobs": N, "runtime_s": ...}

Usage: spark-submit [Pacer options] examples/shuffle_app.py [--jobs N] [--partitions P]
           [--records R] [--keys K] [--ms-per-record MS] [--pause-ms MS]
"""

import argparse
import json
import time

from pyspark import SparkConf, SparkContext


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--ms-per-record", type=float, default=1.0)
    parser.add_argument("--pause-ms", type=int, default=0, help="idle time between jobs")
    args = parser.parse_args()

    sc = SparkContext(conf=SparkConf())
    keys, delay = args.keys, args.ms_per_record / 1000.0
    expected = {}
    for x in range(args.records):
        expected[x % keys] = expected.get(x % keys, 0) + x

    def slow_pair(x):
        time.sleep(delay)
        return (x % keys, x)

    started = time.time()
    ok = True
    for job in range(args.jobs):
        sums = dict(sc.parallelize(range(args.records), args.partitions).map(slow_pair)
                    .reduceByKey(lambda a, b: a + b, args.partitions).collect())
        ok = ok and sums == expected
        print("job %d done, sums %s" % (job, "ok" if sums == expected else "WRONG"), flush=True)
        if args.pause_ms:
            time.sleep(args.pause_ms / 1000.0)
    result = {"ok": ok, "jobs": args.jobs, "runtime_s": round(time.time() - started, 3)}
    print("PACER_EXAMPLE_RESULT " + json.dumps(result), flush=True)
    sc.stop()


if __name__ == "__main__":
    main()
