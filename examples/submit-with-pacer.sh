#!/usr/bin/env bash
# spark-submit of the I/O-bound example with Pacer, showing every configuration key.
# Usage: examples/submit-with-pacer.sh SPARK_MASTER_URL BRIDGE_ENDPOINT [3.5|4.0]
#   e.g. examples/submit-with-pacer.sh spark://127.0.0.1:7077 tcp://127.0.0.1:5555 3.5
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
master=${1:?spark master URL}
bridge=${2:?bridge endpoint, e.g. tcp://127.0.0.1:5555}
version=${3:-3.5}
case "$version" in
  3.5) jar="$root/dist/pacer-spark-3.5_2.12.jar"; scala=2.12 ;;
  4.0) jar="$root/dist/pacer-spark-4.0_2.13.jar"; scala=2.13 ;;
  *) echo "Spark version must be 3.5 or 4.0" >&2; exit 2 ;;
esac
spark_home=$(dirname "$("$root/scripts/spark-jars" "$version")")
python="$root/.venv/spark-$version/bin/python"

P=spark.customExtraListener
exec env PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python" \
  "$spark_home/bin/spark-submit" \
  --master "$master" \
  --jars "$jar" \
  --conf spark.extraListeners=dev.pacer.spark.PacerListener \
  --conf spark.pyspark.python="$python" \
  --conf spark.executor.cores=1 \
  --conf spark.executor.memory=512m \
  --conf spark.dynamicAllocation.enabled=false \
  --conf $P.bridgeServiceAddress="$bridge" \
  --conf $P.minExecutors=1 \
  --conf $P.maxExecutors=6 \
  --conf $P.targetRuntime=120000 \
  --conf $P.isAdaptive=true \
  --conf $P.isTraining=false \
  --conf $P.datasizeMb=1 \
  --conf $P.env.machineType=local-vm \
  --conf $P.env.hadoopVersion=3.3.4 \
  --conf $P.env.sparkVersion="$version" \
  --conf $P.env.scalaVersion="$scala" \
  --conf $P.env.javaVersion=17 \
  --conf $P.responseTimeoutMs=30000 \
  --conf $P.executorRequestTimeoutMs=15000 \
  --conf $P.codec=json \
  --conf $P.queueCapacity=1000 \
  --conf $P.shutdownTimeoutMs=2000 \
  --conf $P.logLevel=info \
  --conf $P.enabled=true \
  "$root/examples/io_bound_app.py" --jobs 10 --partitions 8 --records 4000
# The env.* keys are optional: unset, the listener reports the versions it runs with.
# To load libpacer.so from a folder instead of the copy inside the jar, add:
#   --conf spark.driver.extraLibraryPath=/path/to/folder/with/libpacer.so
