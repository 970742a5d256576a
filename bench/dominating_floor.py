"""How cheap a clairvoyant policy can be and still dominate Ellis on a trace (issue 14's test).

The policy knows every replayed run's true durations and keeps one scale-out per run (as
`oracle-constant`). Over a trace's cells it must pass the dominance test of bench/evaluate.py:
in every cell at most one missed run more than Ellis, over all cells no more missed runs and no
more minutes late in all than Ellis. The cheapest such choice, in the issue's headline (the mean
over cells of executor-minutes / Ellis's), is bounded by Lagrangian relaxation: a price per minute
late (shared by the trace's cells) and a price per missed run (per cell) make every run's choice
independent, which gives a lower bound (the dual) and, at the prices where the choice is
feasible, a reached value (an upper bound).

A trace whose floor is above a policy's mean cost ratio cannot be dominated at that cost, even
with clairvoyance; the mean floor over all traces says whether "dominate everywhere" and "0.85 of
Ellis's cost" can hold together.
"""

import math

# Prices per minute late (in cost ratio per run-minute): 0 and a log grid wide enough that the
# top end makes every run as fast as it can be.
LATENESS_PRICES = [0.0] + [10 ** (k / 16) for k in range(-96, 49)]


def floor(cells):
    """`cells`: one (ellis, options) per cell, `ellis` the cell's replay metrics of Ellis (runs,
    cvc, cvs_min, executor_minutes) and `options` per run a list of (runtime over target in
    minutes, executor-minutes) for each scale-out. Returns (lower bound, reached or None)."""
    count = len(cells)
    prepared = []
    for ellis, options in cells:
        n = ellis["runs"]
        weight = 1.0 / (count * ellis["executor_minutes"] * n)
        misses = round(ellis["cvc"] * n)
        prepared.append((n, weight, misses, options))
    lateness_budget = sum(ellis["cvs_min"] for ellis, _ in cells)
    miss_budget = sum(misses for _, _, misses, _ in prepared)
    lower, reached = -math.inf, None
    for price in LATENESS_PRICES:
        dual = -price * lateness_budget
        late, missed, cost, feasible = 0.0, 0, 0.0, True
        for n, weight, misses, options in prepared:
            best_met, best_missed = [], []
            for run in options:
                met = [(weight * c, 0.0, c) for over, c in run if over <= 0.0]
                missing = [(weight * c + price * over / n, over, c) for over, c in run if over > 0.0]
                best_met.append(min(met) if met else (math.inf, 0.0, 0.0))
                best_missed.append(min(missing) if missing else (math.inf, 0.0, 0.0))
            dual += cell_dual(best_met, best_missed, misses + 1)
            # The cheapest choice at this price with no more missed runs than Ellis's in the
            # cell (so the trace's total is no more either): the runs that gain most from
            # missing miss, those that cannot meet their target first.
            gains = sorted(range(len(options)), key=lambda r: best_met[r][0] - best_missed[r][0], reverse=True)
            cell_missed = 0
            for rank, r in enumerate(gains):
                gain = best_met[r][0] - best_missed[r][0]
                choice = best_missed[r] if gain > 0.0 and (rank < misses or math.isinf(gain)) else best_met[r]
                cell_missed += choice[1] > 0.0
                late += choice[1] / n
                cost += weight * choice[2]
            missed += cell_missed
            feasible &= cell_missed <= misses + 1
        lower = max(lower, dual)
        if feasible and late <= lateness_budget + 1e-9 and missed <= miss_budget:
            reached = cost if reached is None else min(reached, cost)
    return lower, reached


def cell_dual(best_met, best_missed, cap):
    """max over a price per missed run μ ≥ 0 of Σ_runs min(met, missed + μ) − μ·cap: concave and
    piecewise linear in μ, so its maximum is at 0 or where a run switches."""
    candidates = [0.0] + [m[0] - x[0] for m, x in zip(best_met, best_missed)
                          if m[0] > x[0] and not math.isinf(m[0])]
    return max(sum(min(m[0], x[0] + mu) for m, x in zip(best_met, best_missed)) - mu * cap
               for mu in candidates)
