"""bench/evaluate.py's floor of dominating Ellis (bench/dominating_floor.py): exact on cells
small enough to solve by hand, and on a synthetic trace replayed by the release bridge, where the
choice it reaches must pass evaluate.py's own dominance test."""

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
    # 4 + 6 executor-minutes, half of Ellis's 2 × 10. Here the bounds meet.
    lower, reached, choice = dominating_floor.floor([(ellis(2, 0.5, 1.0, 10.0), OPTIONS)])
    assert abs(reached - 0.5) < 1e-9 and abs(lower - 0.5) < 1e-9
    assert choice == [[0, 1]]
    # With twice the minutes late allowed the second run may take the cheap, later option.
    lower, reached, choice = dominating_floor.floor([(ellis(2, 0.5, 2.0, 10.0), OPTIONS)])
    assert abs(reached - 0.35) < 1e-9 and 0 < lower <= reached
    assert choice == [[0, 0]]
    # Fewer minutes late than the fastest choice allows: no clairvoyant choice dominates, and the
    # lower bound says so (above any cost ratio a choice could have here).
    lower, reached, choice = dominating_floor.floor([(ellis(2, 0.5, 0.5, 10.0), OPTIONS)])
    assert reached is None and choice is None and lower > 1


def test_minutes_late_are_shared_by_the_cells_and_cost_is_bounded_in_each():
    # One run per cell, both missed by Ellis by a minute. Within each cell's own minute the
    # second cell would need its dear option (6); over the trace the two cheap ones are 0.6 + 1.4
    # minutes late, no more than Ellis's 2.
    cells = [(ellis(1, 1.0, 1.0, 10.0), [[(0.6, 2.0), (0.2, 8.0)]]),
             (ellis(1, 1.0, 1.0, 10.0), [[(1.4, 2.0), (0.1, 6.0)]])]
    lower, reached, choice = dominating_floor.floor(cells)
    assert abs(reached - 0.2) < 1e-9 and abs(lower - 0.2) < 1e-9
    assert choice == [[0], [0]]
    # A cell whose only choice costs more than Ellis fails the test, however cheap the others.
    lower, reached, _ = dominating_floor.floor([(ellis(1, 0.0, 0.0, 1.0), [[(-1.0, 1.2)]]),
                                                (ellis(1, 0.0, 0.0, 1.0), [[(-1.0, 0.3)]])])
    assert reached is None and lower > 1


def test_the_floor_of_a_replayed_synthetic_trace_passes_the_dominance_test(tmp_path):
    require_binary()
    trace = tmp_path / "amdahl.csv"
    generated = subprocess.run([sys.executable, str(REPO / "bench" / "synthetic_trace.py"), "--profile", "amdahl",
                                "--seed", "3", "--runs", "30"], capture_output=True, text=True, check=True)
    trace.write_text(generated.stdout)
    target = int(generated.stderr.strip())
    results = evaluate.cells(trace, target)
    lower, reached, choice = evaluate.dominating(trace, target, results)
    assert reached is not None and 0 < lower <= reached + 1e-9
    # The choice, replayed as the constant scale-outs it names, in place of pacer.
    chosen = {}
    for (cell, r), runs in zip(results.items(), choice):
        reference = cell[0]
        constant = evaluate.replay(trace, target, ["fixed:%d" % evaluate.SCALE_OUTS[i] for i in set(runs)],
                                   reference=reference, per_run=True)
        rows = [constant["fixed:%d" % evaluate.SCALE_OUTS[i]][k] for k, i in enumerate(runs)]
        n = len(rows)
        as_policy = {"runs": n, "cvc": sum(not row["met"] for row in rows) / n,
                     "cvs_min": sum(max(0.0, evaluate.minutes_over(row, target)) for row in rows) / n,
                     "executor_minutes": sum(row["executor_minutes"] for row in rows) / n}
        chosen[cell] = {**r, "pacer": as_policy}
    dominates, ratio = evaluate.verdict(chosen)
    assert dominates
    assert abs(ratio - reached) < 1e-9


def test_runs_are_split_into_reachable_and_lost_by_what_a_constant_scale_out_can_do():
    # Two runs with a 10-minute target: the first meets it at one of its options, the second at
    # none. The policy met the first at 7 executor-minutes and missed the second by 3 minutes.
    target = 600_000
    rows = [{"runtime_ms": 540_000, "met": True, "executor_minutes": 7.0},
            {"runtime_ms": 780_000, "met": False, "executor_minutes": 9.0}]
    options = [[(-1.0, 5.0), (1.0, 2.0)], [(4.0, 3.0), (2.0, 6.0)]]
    classes = evaluate.run_classes(rows, options, target)
    assert classes[evaluate.REACHABLE] == {"runs": 1, "missed": 0, "executor_minutes": 7.0, "minutes_late": 0.0,
                                           "clairvoyant_executor_minutes": 5.0, "clairvoyant_minutes_late": 0.0}
    assert classes[evaluate.LOST] == {"runs": 1, "missed": 1, "executor_minutes": 9.0, "minutes_late": 3.0,
                                      "clairvoyant_executor_minutes": 6.0, "clairvoyant_minutes_late": 2.0}


def test_the_cheapest_clairvoyant_choice_for_lost_runs_within_a_lateness():
    lost = [[(4.0, 3.0), (2.0, 6.0)], [(3.0, 1.0), (1.0, 5.0)]]
    # Within 7 minutes late both cheap options do (3 + 1 at 4 + 3 late); within 5 one run must
    # save 2 minutes, and the first does it for 3 executor-minutes more, the second for 4; within
    # 3 both take their fast options; below, not even those.
    assert evaluate.cheapest_within_lateness(lost, 7.0) == 4.0
    assert evaluate.cheapest_within_lateness(lost, 5.0) == 7.0
    assert evaluate.cheapest_within_lateness(lost, 3.0) == 11.0
    assert evaluate.cheapest_within_lateness(lost, 2.9) is None
