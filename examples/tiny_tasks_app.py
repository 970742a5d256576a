"""Many tiny JVM-only tasks (no Python workers): a stress test of the listener bus.

Usage: spark-submit [Pacer options] examples/tiny_tasks_app.py [--jobs N] [--tasks-per-job T]
Prints: PACER_EXAMPLE_RESULT {"ok": true, "tasks": N*T, "runtime_s": ...}
"""

import argparse
import json
import time

from pyspark.sql import SparkSession


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--tasks-per-job", type=int, default=10_000)
    args = parser.parse_args()

    spark = SparkSession.builder.appName("Pacer tiny-tasks example").getOrCreate()
    rows_per_task = 10
    started = time.time()
    ok = True
    for _ in range(args.jobs):
        rows = args.tasks_per_job * rows_per_task
        counted = spark.range(0, rows, 1, numPartitions=args.tasks_per_job).count()
        ok = ok and counted == rows
    runtime = time.time() - started
    print("PACER_EXAMPLE_RESULT " + json.dumps(
        {"ok": ok, "tasks": args.jobs * args.tasks_per_job, "runtime_s": round(runtime, 3)}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
