"""A PySpark application whose jobs start with a long serial stage and end with a wide one.

Each job first runs one task alone (a single partition that sleeps `--serial-ms`, as a driver-side
listing or a non-splittable read would), which shuffles its records into `--partitions`
partitions of a wide stage whose tasks sleep per record. Extra executors help only in the wide
stage: the shape is the opposite of an application that is parallel throughout, such as
examples/io_bound_app.py. Each job's sums are checked, and the run ends with one line:

    PACER_EXAMPLE_RESULT {"ok": true, "jobs": N, "runtime_s": ...}

Usage: spark-submit [Pacer options] examples/serial_wide_app.py [--jobs N] [--partitions P]
           [--records R] [--serial-ms MS] [--ms-per-record MS]
"""

import argparse
import json
import time

from pyspark import SparkConf, SparkContext


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--records", type=int, default=3200)
    parser.add_argument("--serial-ms", type=int, default=4000, help="the serial stage's one task")
    parser.add_argument("--ms-per-record", type=float, default=2.0, help="the wide stage's tasks")
    args = parser.parse_args()

    sc = SparkContext(conf=SparkConf())
    records, partitions = args.records, args.partitions
    serial_s, delay = args.serial_ms / 1000.0, args.ms_per_record / 1000.0
    expected = {}
    for x in range(records):
        expected[x % partitions] = expected.get(x % partitions, 0) + x

    def serial(_):
        time.sleep(serial_s)
        return ((x % partitions, x) for x in range(records))

    def wide(pairs):
        sums = {}
        for key, x in pairs:
            time.sleep(delay)
            sums[key] = sums.get(key, 0) + x
        return iter(sums.items())

    started = time.time()
    ok = True
    for job in range(args.jobs):
        sums = dict(sc.parallelize([job], 1).flatMap(serial).partitionBy(partitions)
                    .mapPartitions(wide).collect())
        ok = ok and sums == expected
        print("job %d done, sums %s" % (job, "ok" if sums == expected else "WRONG"), flush=True)
    result = {"ok": ok, "jobs": args.jobs, "runtime_s": round(time.time() - started, 3)}
    print("PACER_EXAMPLE_RESULT " + json.dumps(result), flush=True)
    sc.stop()


if __name__ == "__main__":
    main()
