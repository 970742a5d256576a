"""Pacer's test bed, shared by tests/e2e, bench/ and scripts/demo.py.

Installed editable into .venv/spark-3.5 and .venv/spark-4.0 by scripts/ensure-deps; import the
module you need (`from pacer_testbed.spark import SparkCluster`).

  repo            where the repository's build outputs are (dist/, target/release/pacer-bridge)
  ports           the one free-port strategy: loopback endpoints, waiting until one listens
  processes       stopping a process and its process group by PID
  spark           a pyspark install, a standalone cluster, spark-submit, Pacer's keys
  bridge          `pacer-bridge serve` as a process
  standin         a bridge stand-in that validates every message and answers from a script
  protocol_schema every field of every protocol message, and a validator
  facts           run facts from Spark's event log and the bridge's SQLite history
"""
