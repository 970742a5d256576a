"""Native faults on a real standalone cluster: a panic inside a native call, a missing
libpacer.so and a corrupt configuration each disable Pacer with exactly one ERROR line; the
application goes on and finishes with the correct result."""

import zipfile

import pytest

from pacer_testbed.spark import pacer_conf, submit
from pacer_testbed.standin import BridgeStandIn

VERSION = "3.5"
APP_ARGS = ["--jobs", 3, "--partitions", 4, "--records", 400]


def jar_without_native_library(install, tmp_path):
    stripped = tmp_path / "pacer-without-so.jar"
    with zipfile.ZipFile(install.jar) as source, zipfile.ZipFile(stripped, "w") as target:
        for item in source.infolist():
            if not item.filename.startswith("native/"):
                target.writestr(item, source.read(item.filename))
    return stripped


def pacer_errors(log):
    return [line for line in log.splitlines() if " ERROR pacer:" in line]


@pytest.mark.parametrize("fault", ["native panic", "missing library", "corrupt configuration"])
def test_native_fault_disables_pacer_and_the_app_goes_on(fault, cluster_for, tmp_path):
    cluster = cluster_for(VERSION)
    install = cluster.install
    bridge = BridgeStandIn().start()
    conf = pacer_conf(install, bridge.endpoint)
    expected = {
        "native panic": "Pacer disabled after a failure in onJobStart: dev.pacer.core.PacerNativeException: "
                        "nativeJobStart: native panic: testing.panicOnJobStart is set",
        "missing library": "Pacer disabled after a failure in start-up: dev.pacer.core.PacerNativeException: "
                           "native library not found",
        "corrupt configuration": "Pacer disabled after a failure in start-up: dev.pacer.core.PacerNativeException: "
                                 "nativeCreate: invalid Pacer configuration: spark.customExtraListener.maxExecutors: "
                                 "expected a positive integer, got 'lots'",
    }[fault]
    if fault == "native panic":
        conf["spark.customExtraListener.testing.panicOnJobStart"] = "true"
    elif fault == "corrupt configuration":
        conf["spark.customExtraListener.maxExecutors"] = "lots"
    original_jar = install.jar
    if fault == "missing library":
        install.jar = jar_without_native_library(install, tmp_path)
    try:
        run = submit(install, cluster.master_url, conf, APP_ARGS, tmp_path / "driver.log")
    finally:
        install.jar = original_jar
        bridge.stop()
    assert run.returncode == 0, run.describe()
    assert run.result and run.result["ok"], run.describe()
    errors = pacer_errors(run.driver_log)
    assert len(errors) == 1, errors
    assert expected in errors[0], errors[0]
