import pytest

from pacer_testbed.spark import SparkCluster, SparkInstall

_clusters = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "worker_cores(n): the standalone worker's cores (test_external.py)")


@pytest.fixture(scope="session")
def cluster_for(tmp_path_factory):
    """Starts (once per Spark version) a standalone master and worker; stops them at the end."""

    def get(version):
        if version not in _clusters:
            install = SparkInstall(version)
            workdir = tmp_path_factory.mktemp("spark-" + version)
            _clusters[version] = SparkCluster(install, workdir).start()
        return _clusters[version]

    yield get
    for cluster in _clusters.values():
        cluster.stop()
    _clusters.clear()


def pytest_terminal_summary(terminalreporter):
    """Wall time of each fault-injection case against the run without Pacer."""
    from test_faults import WALL_TIMES

    if not WALL_TIMES:
        return
    baseline = WALL_TIMES.get("no Pacer (baseline)")
    terminalreporter.write_sep("-", "fault injection: wall time of spark-submit")
    for name, seconds in WALL_TIMES.items():
        ratio = " (%.2f× baseline)" % (seconds / baseline) if baseline else ""
        terminalreporter.write_line("%-48s %6.1f s%s" % (name, seconds, ratio))
