"""bench/evaluate.py's clairvoyant floor of dominating Ellis (bench/dominating_floor.py): exact
on cells small enough to solve by hand, and on a synthetic trace replayed by the release bridge."""

import subprocess
import sys

from pacer_testbed.bridge import require_binary
from pacer_testbed.repo import REPO

sys.path.insert(0, str(REPO / "bench"))
import dominating_floor  # noqa: E402
import evaluate  # noqa: E402


def ellis(runs, cvc, cvs_min, executor_minutes):
    return {"runs": runs, "cvc": cvc, "cvs_min": cvs_min, "executor_minutes": executor_minutes}


# Two runs, options (minutes over the target, executor-minutes) per scale-out: the first run meets
# its target for 4 or misses by a minute for 2; the second misses at either, by 4 for 3 or by 2 for 6.
OPTIONS = [[(-1.0, 4.0), (1.0, 2.0)], [(4.0, 3.0), (2.0, 6.0)]]


def test_the_floor_of_a_cell_small_enough_to_solve_by_hand():
    # Ellis misses one run by 2 minutes (1 per run): the first run must meet its target (only one
    # may miss, and the second cannot meet it) and the second may be only 2 minutes late:
    # 4 + 6 executor-minutes, half of Ellis's 2 × 10.
    lower, reached = dominating_floor.floor([(ellis(2, 0.5, 1.0, 10.0), OPTIONS)])
    assert abs(reached - 0.5) < 1e-9
    assert lower <= reached + 1e-9
    # With twice the minutes late allowed the second run may take the cheap, later option.
    lower, reached = dominating_floor.floor([(ellis(2, 0.5, 2.0, 10.0), OPTIONS)])
    assert abs(reached - 0.35) < 1e-9
    assert lower <= reached + 1e-9
    # Fewer minutes late than the fastest choice allows: no clairvoyant choice dominates.
    assert dominating_floor.floor([(ellis(2, 0.5, 0.5, 10.0), OPTIONS)])[1] is None


def test_the_floor_of_a_replayed_synthetic_trace(tmp_path):
    require_binary()
    trace = tmp_path / "amdahl.csv"
    generated = subprocess.run([sys.executable, str(REPO / "bench" / "synthetic_trace.py"), "--profile", "amdahl",
                                "--seed", "3", "--runs", "30"], capture_output=True, text=True, check=True)
    trace.write_text(generated.stdout)
    target = int(generated.stderr.strip())
    results = evaluate.cells(trace, target)
    lower, reached = evaluate.dominating(trace, target, results)
    assert reached is not None
    assert 0 < lower <= reached + 1e-9
    # On this family a clairvoyant constant scale-out per run is cheaper than Ellis.
    assert reached < 1.0
    # Allowing more minutes late can only make the floor cheaper.
    looser = {cell: {**r, "ellis": {**r["ellis"], "cvs_min": 2 * r["ellis"]["cvs_min"] + 1}}
              for cell, r in results.items()}
    assert evaluate.dominating(trace, target, looser)[1] <= reached + 1e-9
