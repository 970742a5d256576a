"""How cheap a clairvoyant policy can be and still dominate Ellis on a trace (issue 14's test).

The policy knows every replayed run's true durations and keeps one scale-out per run (as
`oracle-constant`). Over a trace's cells it must pass the dominance test of bench/evaluate.py:
in every cell no more executor-minutes than Ellis and at most one missed run more; over all
cells no more missed runs and no more minutes late in all than Ellis. The cheapest such choice,
in the issue's headline (the mean over cells of executor-minutes / Ellis's), is bounded by
Lagrangian relaxation: a price per minute late (shared by the trace's cells), a price per missed
run and one per executor-minute above Ellis's (per cell) make every run's choice independent,
which gives a lower bound (the dual) and, at the prices where the choice passes the test, a
reached value (an upper bound) with the choice itself.

A trace whose floor is above a policy's mean cost ratio cannot be dominated at that cost by
constant choices, even with clairvoyance; the mean floor over all traces says whether "dominate
everywhere" and "0.85 of Ellis's cost" can hold together.
"""

import math

# Prices per minute of CVS (a run's minutes late over the cell's runs), in cost ratio: 0 and a
# log grid wide enough that the top end makes every run as fast as it can be.
LATENESS_PRICES = [0.0] + [10 ** (k / 16) for k in range(-96, 49)]
# Rounds of raising the cost price of the cells dearer than Ellis, at each lateness price.
COST_PRICE_ROUNDS = 12


class Cell:
    """One cell: Ellis's replay metrics there (runs, cvc, cvs_min, executor_minutes) and, per
    run, (minutes over the target, executor-minutes) at each constant scale-out."""

    def __init__(self, ellis, options, count):
        self.n = ellis["runs"]
        assert len(options) == self.n, "one list of options per replayed run"
        self.options = options
        self.ellis_cost = ellis["executor_minutes"] * self.n
        self.misses = round(ellis["cvc"] * self.n)
        self.ellis_cvs = ellis["cvs_min"]
        self.share = 1.0 / count

    def priced(self, lateness_price, cost_price):
        """At these prices: the dual's term and the cheapest choice with at most Ellis's missed
        runs, as (dual, choice per run, missed runs, CVS, executor-minutes / Ellis's)."""
        weight = (self.share + cost_price) / self.ellis_cost
        best_met, best_missed = [], []
        for run in self.options:
            met = [(weight * c, i) for i, (over, c) in enumerate(run) if over <= 0.0]
            missing = [(weight * c + lateness_price * over / self.n, i) for i, (over, c) in enumerate(run) if over > 0.0]
            best_met.append(min(met) if met else (math.inf, None))
            best_missed.append(min(missing) if missing else (math.inf, None))
        dual = cell_dual([m for m, _ in best_met], [x for x, _ in best_missed], self.misses + 1) - cost_price
        # No more missed runs than Ellis's in the cell (so the trace's total is no more either):
        # the runs that gain most from missing miss, those that cannot meet their target first.
        gains = sorted(range(self.n), key=lambda r: best_met[r][0] - best_missed[r][0], reverse=True)
        choice = [None] * self.n
        for rank, r in enumerate(gains):
            gain = best_met[r][0] - best_missed[r][0]
            miss = gain > 0.0 and (rank < self.misses or math.isinf(gain))
            choice[r] = (best_missed if miss else best_met)[r][1]
        over = [self.options[r][i][0] for r, i in enumerate(choice)]
        cost = sum(self.options[r][i][1] for r, i in enumerate(choice))
        return (dual, choice, sum(o > 0.0 for o in over), sum(max(0.0, o) for o in over) / self.n,
                cost / self.ellis_cost)


def floor(cells):
    """`cells`: one (ellis, options) per cell of a trace (see `Cell`). Returns (lower bound,
    reached or None, the reached choice: per cell the index of each run's option, or None)."""
    cells = [Cell(ellis, options, len(cells)) for ellis, options in cells]
    lateness_budget = sum(c.ellis_cvs for c in cells)
    miss_budget = sum(c.misses for c in cells)
    lower, reached, best = -math.inf, None, None
    for lateness_price in LATENESS_PRICES:
        cost_prices = [0.0] * len(cells)
        for _ in range(COST_PRICE_ROUNDS):
            priced = [c.priced(lateness_price, p) for c, p in zip(cells, cost_prices)]
            lower = max(lower, sum(p[0] for p in priced) - lateness_price * lateness_budget)
            dearer = [p[4] > 1.0 + 1e-9 for p in priced]
            passes = (not any(dearer) and sum(p[3] for p in priced) <= lateness_budget + 1e-9
                      and sum(p[2] for p in priced) <= miss_budget
                      and all(p[2] <= c.misses + 1 for p, c in zip(priced, cells)))
            if passes:
                value = sum(c.share * p[4] for c, p in zip(cells, priced))
                if reached is None or value < reached:
                    reached, best = value, [p[1] for p in priced]
            if not any(dearer):
                break
            cost_prices = [max(2 * q, 1.0 / len(cells)) if d else q for q, d in zip(cost_prices, dearer)]
    return lower, reached, best


def cell_dual(best_met, best_missed, cap):
    """max over a price per missed run μ ≥ 0 of Σ_runs min(met, missed + μ) − μ·cap: concave and
    piecewise linear in μ, so its maximum is at 0 or where a run switches."""
    candidates = [0.0] + [m - x for m, x in zip(best_met, best_missed) if m > x and not math.isinf(m)]
    return max(sum(min(m, x + mu) for m, x in zip(best_met, best_missed)) - mu * cap for mu in candidates)
