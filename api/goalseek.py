"""Goal-seek: the value of one lever (or the size of one mitigation) at which the accumulated
DSG deficit meets the Safety Valve profile in a chosen year with a chosen probability.

The lever is one number of a scenario table, named by its path: ``levers.block_transfer.share``,
``mitigation.locality_model.effect.share`` (a mitigation is found by its name), or any other
number a scenario file holds; other keys the table needs are set with fixed values. Every
evaluation runs the same runs with the same seed (common random numbers), so the probability
of meeting the profile moves only with the lever. A lever that leaves the engine alone (money
levers, money mitigations) re-prices one simulation of the engine instead of simulating again
(the engine key: the plan's parameter rows and engine mitigations).

The search is a bisection on [low, high] for the value nearest the side that does not meet the
target at which P(meets) reaches it (the direction is found from the two ends, which must
bracket it). The interval is a bootstrap over runs: each resample of the runs (with
replacement) finds its own crossing among the values evaluated, by linear interpolation.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field

import numpy as np

from sendsim.api.tasks import Runner, Task
from sendsim.inputs.errors import InputError
from sendsim.inputs.resolve import ResolvedRun, ScenarioPlan, scenario_file
from sendsim.inputs.scenarios import read_scenario_table
from sendsim.money.model import run_money_grouped
from sendsim.money.prices import nominal_cost
from sendsim.money.schema import fy_label, parse_fy
from sendsim.outputs.summary import RunAggregates
from sendsim.simcore.engine import ChunkResult


@dataclass
class GoalSeekResult:
    """The value found, its bootstrap interval, and every evaluation (value -> per-run outcome)."""

    path: str
    year: str
    probability: float
    value: float
    interval: tuple[float, float]
    probability_at_value: float
    runs: int
    bootstrap: int
    no_crossing_share: float
    evaluations: dict[float, np.ndarray] = field(default_factory=dict)  # value -> [R] meets the profile
    simulations: int = 1  # engine simulations made (1: a money lever, every value re-priced)

    def text(self) -> str:
        """The result as the command prints it."""
        lines = [f"goal-seek {self.path}: P(accumulated deficit <= profile in {self.year}) >= {self.probability:.0%}",
                 f"  value            {self.value:.6g}",
                 f"  90% interval     [{self.interval[0]:.6g}, {self.interval[1]:.6g}]  (bootstrap over {self.runs} "
                 f"runs, {self.bootstrap} resamples"
                 + (f"; {self.no_crossing_share:.0%} of resamples cross outside the range" if self.no_crossing_share
                    else "") + ")",
                 f"  P(meets) there   {self.probability_at_value:.1%}",
                 f"  evaluations      {len(self.evaluations)} ({self.simulations} engine simulation"
                 + ("s" if self.simulations > 1 else "") + ", the same runs and seed)"]
        return "\n".join(lines)


def set_path(table: dict, path: str, value) -> None:
    """Set ``value`` at a dotted path of a scenario table, creating tables on the way;
    ``mitigation.NAME.rest`` addresses the mitigation named NAME."""
    parts = path.split(".")
    node = table
    k = 0
    while k < len(parts) - 1:
        part = parts[k]
        if part == "mitigation" and isinstance(node.get("mitigation"), list) and k + 1 < len(parts) - 1:
            matches = [m for m in node["mitigation"] if m.get("name") == parts[k + 1]]
            if not matches:
                names = ", ".join(str(m.get("name")) for m in node["mitigation"])
                raise InputError(path, f"the scenario has no mitigation {parts[k + 1]!r} (it has: {names})")
            node = matches[0]
            k += 2
            continue
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(path, f"{part!r} is not a table of the scenario")
        node = child
        k += 1
    node[parts[-1]] = value


class GoalSeek:
    """Evaluates a scenario template at lever values over one set of runs (see the module docstring)."""

    def __init__(self, resolved: ResolvedRun, template: dict, file: str, path: str, year: str,
                 threads: int | None = None) -> None:
        fy = parse_fy(year)
        if fy is None:
            raise InputError("--year", f"must be a financial year like 2027-28, got {year!r}")
        years, complete = resolved.financial_years()
        finance = resolved.finance
        if (fy not in [int(y) for y, c in zip(years, complete) if c] or finance is None
                or finance.profile(fy) is None):
            raise InputError("--year", f"{year} must be a complete financial year of the run with a Safety Valve "
                             "profile")
        self.resolved, self.template, self.file, self.path, self.fy = resolved, template, file, path, fy
        self.threads = threads
        self.runner = Runner(resolved)
        self.runs = np.arange(resolved.spec.runs, dtype=np.int64)
        size = resolved.spec.chunk_size
        self.chunks = [self.runs[i:i + size] for i in range(0, self.runs.size, size)]
        self._engine: dict[str, list[ChunkResult]] = {}
        self.simulations = 0

    def plan(self, value: float) -> ScenarioPlan:
        """The scenario with the varied number set to ``value``, planned on the run."""
        table = copy.deepcopy(self.template)
        set_path(table, self.path, value)
        return self.resolved.plan_table(table, self.file)

    @staticmethod
    def engine_key(plan: ScenarioPlan) -> str:
        """What of a plan the engine sees: its parameter rows and its engine mitigations. Values of
        a money lever share one key, so one simulation serves them all (re-priced)."""
        rows = [(r.parameter, r.year_month, r.selectors, r.value) for r in plan.rows]
        mitigations = [(m.name, m.start, m.ramp_months, m.delivery, sorted(m.target.items()), sorted(
            (k, v) for k, v in m.effect.items())) for m in plan.mitigations if m.changes_engine]
        return repr((rows, mitigations))

    def _chunks(self, plan: ScenarioPlan) -> list[tuple[Task, ChunkResult]]:
        """The engine's chunks at base prices, simulated once per engine key."""
        key = self.engine_key(plan)
        if key not in self._engine:
            out = []
            for chunk_runs in self.chunks:
                task = Task(plan.name, plan.table_json, plan.file, int(chunk_runs[0]), int(chunk_runs[-1]))
                out.append(self.runner._simulate(self.runner.compiled(task), task, None, self.threads))
            self._engine.clear()  # keep one simulation in memory
            self._engine[key] = out
            self.simulations += 1
        return [(Task(plan.name, plan.table_json, plan.file, int(r[0]), int(r[-1])), c)
                for r, c in zip(self.chunks, self._engine[key])]

    def outcome(self, value: float) -> tuple[np.ndarray, np.ndarray]:
        """[R] whether each run meets the profile in the year, and its accumulated deficit."""
        plan = self.plan(value)
        aggregates = RunAggregates(self.resolved.calendar)
        for task, chunk in self._chunks(plan):
            compiled = self.runner.compiled(task)
            priced = copy.copy(chunk)
            priced.cost = nominal_cost(chunk.cost, self.runner._price_index(compiled, task, None))
            aggregates.add(aggregates.of_chunk(priced))
        aggregates = aggregates.sorted_by_run()
        runs = np.concatenate(aggregates.runs)
        books, group = self.resolved.run_books(plan, runs)
        money = run_money_grouped(books, group, runs, aggregates.financial_years, aggregates.complete_mask(),
                                  seed=self.resolved.spec.seed, **aggregates.money_inputs())
        k = int(np.flatnonzero(money.years == self.fy)[0])
        return money.meets_target[:, k], money.columns["accumulated_deficit_gbp"][:, k]


def crossing(values: np.ndarray, probabilities: np.ndarray, target: float, increasing: bool) -> float:
    """The value where the probability first reaches ``target`` moving in the improving
    direction over sorted ``values``, by linear interpolation; NaN if it never does."""
    order = np.argsort(values) if increasing else np.argsort(values)[::-1]
    v, p = values[order], probabilities[order]
    hits = np.flatnonzero(p >= target)
    if hits.size == 0:
        return math.nan
    j = int(hits[0])
    if j == 0:  # met already at the worst end of the values evaluated
        return float(v[0])
    fraction = (target - p[j - 1]) / (p[j] - p[j - 1])
    return float(v[j - 1] + fraction * (v[j] - v[j - 1]))


def goal_seek(resolved: ResolvedRun, template: dict, file: str, path: str, *, low: float, high: float, year: str,
              probability: float, tolerance: float | None = None, bootstrap: int = 200,
              threads: int | None = None) -> GoalSeekResult:
    """Find the lever value (see the module docstring).

    Parameters
    ----------
    resolved
        The run's inputs (runs, seed, calendar, finance, parameters).
    template, file
        The scenario table the lever belongs to, and the file it came from (for messages).
    path
        The lever: a dotted path of the table.
    low, high
        The range searched; the target must be met at one end and not at the other.
    year, probability
        The target: P(accumulated deficit <= profile in ``year``) >= ``probability``.
    tolerance
        Stop when the bracket is this narrow (default a thousandth of the range).
    bootstrap
        Resamples of the runs for the interval.
    """
    if not 0 < probability <= 1:
        raise InputError("--probability", "must lie in (0, 1]")
    if not high > low:
        raise InputError("--high", "must be above --low")
    seek = GoalSeek(resolved, template, file, path, year, threads)
    tolerance = (high - low) / 1000 if tolerance is None else tolerance
    evaluations: dict[float, np.ndarray] = {}

    def share(value: float) -> float:
        if value not in evaluations:
            evaluations[value] = seek.outcome(value)[0]
        return float(evaluations[value].mean())

    p_low, p_high = share(low), share(high)
    if (p_low >= probability) == (p_high >= probability):
        raise InputError(path, f"the range does not bracket the target: P(meets {year}) is {p_low:.1%} at {low:g} "
                         f"and {p_high:.1%} at {high:g}, against {probability:.0%}; widen --low/--high")
    increasing = p_high >= probability  # the lever improves the deficit as it rises
    bad, good = (low, high) if increasing else (high, low)
    while abs(good - bad) > tolerance:
        middle = 0.5 * (good + bad)
        if share(middle) >= probability:
            good = middle
        else:
            bad = middle
    values = np.array(sorted(evaluations))
    meets = np.stack([evaluations[v] for v in values])  # [V, R]
    rng = np.random.default_rng(resolved.spec.seed)
    roots = []
    for _ in range(bootstrap):
        sample = rng.integers(0, meets.shape[1], meets.shape[1])
        roots.append(crossing(values, meets[:, sample].mean(axis=1), probability, increasing))
    root_values = np.array(roots)
    inside = root_values[~np.isnan(root_values)]
    interval = (float(np.quantile(inside, 0.05)), float(np.quantile(inside, 0.95))) if inside.size else (math.nan,) * 2
    return GoalSeekResult(path=path, year=fy_label(seek.fy), probability=probability, value=float(good),
                          interval=interval, probability_at_value=share(good), runs=int(seek.runs.size),
                          bootstrap=bootstrap, no_crossing_share=float(np.isnan(roots).mean()),
                          evaluations=evaluations, simulations=seek.simulations)


def template_of(entry: str | None) -> tuple[dict, str]:
    """The scenario table to vary: a built-in scenario or a TOML file, or an empty scenario."""
    if entry is None or entry == "baseline":
        return {"name": "goalseek"}, "goalseek"
    path = scenario_file(entry)
    return json.loads(json.dumps(read_scenario_table(path))), str(path)
