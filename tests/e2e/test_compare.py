"""The reduced comparison (`scripts/compare.py --quick`: one workload, two profiling runs, one run
of each configuration) runs to its end, writes results.json in its schema and the report, and
prints the report's path last. Who wins is the comparison's finding, not asserted."""

import json

from test_demo import run_demo

CONFIGURATIONS = ["pacer", "dynamic-allocation", "static-max", "static-pacer"]


def test_quick_compare(tmp_path):
    out = tmp_path / "compare"
    stdout = run_demo("compare.py", out, "--quick")
    results = json.loads((out / "results.json").read_text())
    assert list(results["workloads"]) == ["io-bound"], results
    workload = results["workloads"]["io-bound"]
    profiled = [p["runtime_s"] for p in workload["profiling"]]
    # The target lies between the fastest and the slowest profiling run (TARGET_RULE).
    assert min(profiled) <= workload["target_s"] <= max(profiled), workload
    assert sorted(workload["configurations"]) == sorted(CONFIGURATIONS)
    for name, c in workload["configurations"].items():
        assert c["runs"] == 1 and 0 <= c["met"] <= 1, (name, c)
        assert c["runtime_s_median"] > 0 and c["executor_minutes_median"] > 0, (name, c)
    # static-pacer ran at the scale-out the Pacer run settled on; static-max at the maximum.
    assert workload["configurations"]["static-pacer"]["executors"] == workload["configurations"]["pacer"]["executors"]
    assert workload["configurations"]["static-max"]["executors"] == [4]
    runs = json.loads((out / "runs.json").read_text())
    assert [r["kind"] for r in runs][:3] == ["profiling", "profiling", "pacer"], runs
    # Every configuration's executors over time come from its event log: dynamic allocation
    # starts with one executor and adds more, static-max has 4 from the start.
    by_kind = {r["kind"]: r for r in runs}
    assert max(c for _, c in by_kind["dynamic-allocation"]["timeline"]) > 1, by_kind["dynamic-allocation"]
    assert max(c for _, c in by_kind["static-max"]["timeline"]) == 4, by_kind["static-max"]
    page = (out / "report.html").read_text()
    assert "Pacer met" in page and page.count('class="median"') == 4 and "all-executors" in page
    assert "[compare" in stdout and "run 6/6 done" in stdout
