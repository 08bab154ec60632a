"""One way in for a run's inputs: everything a run needs, read, checked and hashed once.

:func:`resolve_run` takes a :class:`RunSpec` (what the user asked for) and returns a
:class:`ResolvedRun`: the calendar, the opening cohort, the base parameter rows and set, the
parameter draws, the finance book, every scenario planned (the baseline first) and the sweep,
with the SHA-256 of the bytes of every file as it was read. ``sendsim run``, ``sendsim sweep``,
the Dask worker, ``sendsim validate`` and ``sendsim calibrate`` all start here, so a run's data
flows one way: command line, inputs (this call), engine, money, outputs.

Every problem is an :class:`~sendsim.inputs.errors.InputError` raised before anything is
written or simulated.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import DEFAULT_START, KENT_COHORT, KENT_DRAWS, KENT_PARAMETERS
from sendsim.inputs.draws import Draws, is_draws_file, load_draws, parameter_sets_for_draws
from sendsim.inputs.errors import InputError
from sendsim.inputs.files import recording_reads
from sendsim.inputs.finance import KENT_FINANCE, as_input_error, load_finance, with_rows
from sendsim.inputs.mitigations import Mitigation, align_epochs, delivered
from sendsim.inputs.parameters import (
    ParameterRow,
    build_parameter_set,
    check_dates_in_run,
    overlay_parameter_set,
    read_parameter_rows,
)
from sendsim.inputs.scenarios import (
    BUILTIN_DIR,
    builtin_path,
    check_levers_in_run,
    compile_scenario,
    read_scenario_table,
)
from sendsim.inputs.sweeps import Sweep, load_sweep
from sendsim.money.book import FinanceBook
from sendsim.money.model import check_money_inputs, modelled
from sendsim.money.schema import FinanceRuleError
from sendsim.simcore.engine import Calendar, Cohort
from sendsim.simcore.model import ParameterSet

BASELINE = "baseline"
# Draws are checked in blocks (each block's parameter sets built, then dropped).
DRAWS_PER_BLOCK = 256


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run (and goes into its manifest).

    Lists given for the file options are kept as tuples (the spec is hashable: a Dask worker
    resolves each spec once).
    """

    out: Path
    runs: int = 1000
    seed: int = 1
    start: tuple[int, int] = DEFAULT_START
    months: int = 51
    cohort: Path = KENT_COHORT
    params: tuple[Path, ...] = ()       # CSVs on top of the Kent baseline; one .parquet of draws
    finance: tuple[Path, ...] = ()      # finance CSVs on top of the Kent finance inputs
    scenarios: tuple[str, ...] = (BASELINE,)  # built-in names or TOML files
    sweep: Path | None = None
    threads: int | None = None
    chunk_size: int = 64
    overwrite: bool = False
    resume: bool = False
    record_flows: bool = True
    progress: bool = True
    backend: str = "local"             # "local" or "dask"
    scheduler: str | None = None       # dask: tcp://HOST:PORT of an existing cluster
    workers: int | None = None         # dask: local cluster worker processes
    # The authority's own base files (Kent's by default): its full parameter file, and its
    # finance inputs (None: no money model, for an authority without finance inputs).
    authority_parameters: Path = KENT_PARAMETERS
    authority_finance: Path | None = KENT_FINANCE
    # The authority's fitted parameter draws, used by default (run r uses draw r, r modulo the
    # number of draws); None: the base parameters only. ``central``: one parameter set, the
    # draws' means, for every run (Monte Carlo noise only).
    authority_draws: Path | None = KENT_DRAWS
    central: bool = False

    def __post_init__(self) -> None:
        for name in ("params", "finance", "scenarios"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "cohort", Path(self.cohort))
        object.__setattr__(self, "start", tuple(self.start))

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.start[0], self.start[1], self.months)

    def parameter_files(self) -> list[Path]:
        """The parameter CSVs in the order they are layered: the authority's base (Kent's by
        default), then ``--params``."""
        return [Path(self.authority_parameters)] + [Path(p) for p in self.params if not is_draws_file(p)]

    def draws_file(self) -> Path | None:
        """The parameter draws of the run: a draws file given with ``--params``, else the
        authority's fitted draws (None if it has none)."""
        files = [Path(p) for p in self.params if is_draws_file(p)]
        if len(files) > 1:
            raise InputError(str(files[1]), "only one draws file (Parquet) can be given with --params")
        if files:
            return files[0]
        return Path(self.authority_draws) if self.authority_draws is not None else None

    def draws_given(self) -> bool:
        """Whether the draws were named with ``--params`` (not the authority's default)."""
        return any(is_draws_file(p) for p in self.params)

    def finance_files(self) -> list[Path]:
        """The finance CSVs in the order they are layered (none without the authority's own)."""
        if self.authority_finance is None:
            if self.finance:
                raise InputError(str(self.finance[0]), "finance rows need the authority's own finance inputs")
            return []
        return [Path(self.authority_finance)] + [Path(p) for p in self.finance]


@dataclass(frozen=True)
class InputFile:
    """An input file as the run read it: its role, its path and the SHA-256 of its bytes."""

    role: str   # cohort | parameters | draws | finance | scenario | sweep
    path: str
    sha256: str


@dataclass
class ScenarioPlan:
    """A scenario to run: its own parameter rows (after the base rows), its finance book, and
    what the outputs say of it. The baseline's ``table_json`` is None."""

    name: str
    table_json: str | None
    file: str
    description: str
    rows: tuple[ParameterRow, ...]
    finance: FinanceBook | None
    first_effective: tuple[int, int] | None = None
    sweep_point: dict | None = None
    n_finance_rows: int = 0
    mitigations: tuple[Mitigation, ...] = ()

    def stages(self) -> list[int | None]:
        """The mitigation log's stages: the scenario with its first k mitigations, k = 0..K (the
        last is the scenario itself); [None] for a scenario without mitigations."""
        return list(range(len(self.mitigations) + 1)) if self.mitigations else [None]

    def engine_changes_at(self, stage: int | None) -> bool:
        """Whether stage ``stage`` needs its own simulation: its last mitigation changes the engine."""
        return stage is None or stage == 0 or self.mitigations[stage - 1].changes_engine


@dataclass
class ResolvedRun:
    """Everything a run needs, read and checked (see the module docstring)."""

    spec: RunSpec
    calendar: Calendar
    cohort: Cohort
    base_rows: list[ParameterRow]
    base_set: ParameterSet
    draws: Draws | None
    finance: FinanceBook | None  # None: the authority has no finance inputs (no money model)
    baseline: ScenarioPlan
    scenarios: list[ScenarioPlan]
    sweep: Sweep | None
    files: list[InputFile] = field(default_factory=list)
    central_of: Draws | None = None  # with --central: the draws whose means every run uses
    money_modelled: bool = True

    @property
    def n_scenarios(self) -> int:
        return 1 + len(self.scenarios) + (self.sweep.n_scenarios if self.sweep else 0)

    def file_hashes(self) -> dict[str, str]:
        return {f.path: f.sha256 for f in self.files}

    def scenario_ids(self) -> list[str]:
        """What identifies each scenario of the run (name and table), baseline first."""
        return [f"{p.name}:{p.table_json}" for p in [self.baseline] + self.scenarios]

    def plans(self) -> Iterator[ScenarioPlan]:
        """Every scenario but the baseline, a sweep's points last and one at a time (there may
        be thousands: each is compiled, so checked, when it is reached)."""
        yield from self.scenarios
        if self.sweep is not None:
            for k, table in enumerate(self.sweep.scenario_tables()):
                point = {f.lever: float(v) for f, v in zip(self.sweep.factors, self.sweep.points[k])}
                yield self.plan_table(table, str(self.sweep.source), sweep_point=point)

    def plan_table(self, table: dict, file: str, *, sweep_point: dict | None = None,
                   check_dates: bool = False) -> ScenarioPlan:
        """Compile (so check) a scenario table on this run's base and plan it."""
        scenario = compile_scenario(table, file, self.base_rows, self.calendar, self.base_set)
        if check_dates:  # a modeller's lever dated after the run would silently do nothing
            check_levers_in_run(scenario, self.calendar)
        finance = self.finance
        if scenario.finance_rows:
            if finance is None:
                raise InputError(file, "the scenario sets finance rows but the authority has no finance inputs",
                                 key="finance")
            finance = with_rows(finance, scenario.finance_rows)
            try:
                check_money_inputs(finance, *self.financial_years())
            except FinanceRuleError as error:
                raise as_input_error(error) from None
        mitigations = tuple(scenario.mitigations)
        for mitigation in mitigations:  # every money effect's rows are valid on this run's finance
            if mitigation.finance_rows(self.calendar):
                if finance is None:
                    raise InputError(file, f"mitigation {mitigation.name} changes money but the authority has no "
                                     "finance inputs", key="mitigation")
                with_rows(finance, mitigation.finance_rows(self.calendar))
        return ScenarioPlan(scenario.name, json.dumps(table, sort_keys=True), file, scenario.description,
                            tuple(scenario.rows), finance, scenario.first_effective(), sweep_point,
                            len(scenario.finance_rows), mitigations)

    def plan_of(self, table_json: str | None, file: str) -> ScenarioPlan:
        """The plan of a scenario a task names (on a worker): the baseline, or its table."""
        if table_json is None:
            return self.baseline
        return self.plan_table(json.loads(table_json), file)

    def parameter_set(self, plan: ScenarioPlan) -> ParameterSet:
        """The scenario's parameter set without draws: the base set with its rows on top."""
        return overlay_parameter_set(self.base_set, self.base_rows, list(plan.rows), self.calendar)

    def draw_parameter_sets(self, plan: ScenarioPlan, runs: np.ndarray) -> list[ParameterSet]:
        """The parameter set of each run under the scenario's rows: run r uses draw r, modulo
        the number of draws (with more runs than draws, run r + n reuses draw r with its own
        random numbers)."""
        assert self.draws is not None
        return parameter_sets_for_draws(self.base_rows + list(plan.rows), self.draws,
                                        np.asarray(runs, dtype=np.int64) % self.draws.n_draws, self.calendar)

    def delivered(self, plan: ScenarioPlan, runs: np.ndarray) -> np.ndarray:
        """[R, K] whether each mitigation of the plan is delivered in each run (the run's own draw)."""
        return delivered(plan.mitigations, self.spec.seed, runs)

    def _delivered(self, plan: ScenarioPlan, runs: np.ndarray, stage: int | None) -> np.ndarray:
        """[R, K] whether each mitigation is delivered in each run and part of the stage."""
        mask = delivered(plan.mitigations, self.spec.seed, runs)
        if stage is not None:
            mask[:, stage:] = False
        return mask

    def run_parameter_sets(self, plan: ScenarioPlan, runs: np.ndarray, stage: int | None = None
                           ) -> tuple[list[ParameterSet], np.ndarray]:
        """The parameter sets a chunk of runs needs and, per run, the index of its set: run r's
        draw (with --params draws) under the scenario's rows, with the engine mitigations
        delivered in run r (up to ``stage``). Sets are shared where runs coincide and are aligned
        to change value at the same months (so they compile together)."""
        runs = np.asarray(runs, dtype=np.int64)
        engine = [k for k, m in enumerate(plan.mitigations) if m.changes_engine]
        mask = self._delivered(plan, runs, stage)[:, engine] if engine else np.zeros((runs.size, 0), dtype=bool)
        if self.draws is None:
            keys = [tuple(row) for row in mask]
            unique = sorted(set(keys))
            base = self.parameter_set(plan)
            sets = []
            for key in unique:
                ps = base
                for k, on in zip(engine, key):
                    if on:
                        ps = plan.mitigations[k].apply(ps, self.calendar)
                sets.append(ps)
            index = np.array([unique.index(key) for key in keys], dtype=np.int64)
        else:
            sets = self.draw_parameter_sets(plan, runs)
            for j in range(runs.size):
                for k, on in zip(engine, mask[j]):
                    if on:
                        sets[j] = plan.mitigations[k].apply(sets[j], self.calendar)
            index = np.arange(runs.size, dtype=np.int64)
        return align_epochs(sets), index

    def run_books(self, plan: ScenarioPlan, runs: np.ndarray, stage: int | None = None
                  ) -> tuple[list[FinanceBook], np.ndarray]:
        """The finance books a set of runs needs and, per run, the index of its book: the
        scenario's finance with the money mitigations delivered in that run (up to ``stage``)."""
        runs = np.asarray(runs, dtype=np.int64)
        finance = plan.finance
        if finance is None:
            raise ValueError(f"scenario {plan.name}: no finance inputs, so no finance books")
        money = [k for k, m in enumerate(plan.mitigations) if not m.changes_engine]
        if not money:
            return [finance], np.zeros(runs.size, dtype=np.int64)
        mask = self._delivered(plan, runs, stage)[:, money]
        keys = [tuple(row) for row in mask]
        unique = sorted(set(keys))
        books: list[FinanceBook] = []
        for key in unique:
            rows = [r for k, on in zip(money, key) if on for r in plan.mitigations[k].finance_rows(self.calendar)]
            books.append(with_rows(finance, rows) if rows else finance)
        return books, np.array([unique.index(key) for key in keys], dtype=np.int64)

    def financial_years(self) -> tuple[np.ndarray, np.ndarray]:
        """The financial years the run's months fall in, and which are complete (12 months)."""
        years = self.calendar.financial_years()
        unique = np.unique(years)
        return unique, np.array([(years == y).sum() == 12 for y in unique])


def scenario_file(entry: str) -> Path:
    """A --scenario value: a TOML file if it names one, else a built-in scenario."""
    path = Path(entry)
    if path.suffix.lower() == ".toml" and path.exists():
        return path
    if path.suffix.lower() == ".toml" or os.sep in entry:
        raise InputError(entry, "scenario file not found")
    return builtin_path(entry)


def _read_parameter_rows(spec: RunSpec, calendar: Calendar) -> list[ParameterRow]:
    rows: list[ParameterRow] = []
    for path in spec.parameter_files():
        file_rows = read_parameter_rows(path)
        if path != Path(spec.authority_parameters):  # a modeller's row dated after the run does nothing
            check_dates_in_run(file_rows, calendar)
        rows.extend(file_rows)
    return rows


def central_rows(draws: Draws) -> list[ParameterRow]:
    """The draws' central values as parameter rows: each column's mean over the draws (a mean
    of valid distributions is a valid distribution, which a median is not)."""
    means = draws.values.mean(axis=0)
    return [ParameterRow(f"{draws.file} column {column!r}", 0, template.parameter, template.year_month,
                         template.selectors, float(mean), f"mean of {draws.n_draws} draws")
            for column, template, mean in zip(draws.columns, draws.templates, means)]


def _load_draws(path: Path, runs: int, rows: list[ParameterRow], base_set: ParameterSet,
                calendar: Calendar) -> Draws:
    draws = load_draws(path)
    last = calendar.label(calendar.n_months - 1)
    for column, template in zip(draws.columns, draws.templates):
        if template.year_month is not None and calendar.month_index(*template.year_month) >= calendar.n_months:
            raise InputError(draws.file, f"date {template.year_month[0]:04d}-{template.year_month[1]:02d} is after "
                             f"the end of the run ({calendar.label(0)} to {last}): the column would have no effect; "
                             "correct the date or run more --months", column=column)
    # Check every draw the run uses now (a bad draw must not stop a run half way).
    used = min(runs, draws.n_draws)
    for start in range(0, used, DRAWS_PER_BLOCK):
        parameter_sets_for_draws(rows, draws, np.arange(start, min(used, start + DRAWS_PER_BLOCK)), calendar,
                                 base_set)
    return draws


def _plan_sweep(resolved: ResolvedRun, sweep: Sweep) -> None:
    """Check a sweep's corner points now (each factor at its lowest and highest level: a
    lever's checks are per value, so the corners bound the rest); the others are checked when
    they are reached."""
    corners = set()
    for j in range(len(sweep.factors)):
        corners.add(int(np.argmin(sweep.points[:, j])))
        corners.add(int(np.argmax(sweep.points[:, j])))
    for k, table in enumerate(sweep.scenario_tables()):
        if k in corners:
            resolved.plan_table(table, str(sweep.source))
        if k >= max(corners):
            break
    taken = {BASELINE} | {p.name for p in resolved.scenarios}
    if sweep.scenario_name(0) in taken:
        raise InputError(str(sweep.source), f"sweep scenario names clash with {sorted(taken)}", key="name")


# Upper bounds of a run's options, decided before anything is read or written (docs/robustness.md).
MAX_RUNS = 1_000_000          # runs are numbered in 32-bit columns; a million is far past any need
MAX_MONTHS = 600              # 50 years: the engine's month counters and the calendar of a plan's life
MAX_CHUNK_RUNS = 10_000       # runs held in memory at once (each chunk's arrays are run x month x cells)
MAX_SEED = 2**63 - 1


def check_bounds(spec: RunSpec) -> None:
    """The run's numbers within their documented bounds (InputError naming the option)."""
    for option, value, low, high in (("--runs", spec.runs, 1, MAX_RUNS), ("--months", spec.months, 1, MAX_MONTHS),
                                     ("--chunk-size", spec.chunk_size, 1, MAX_CHUNK_RUNS),
                                     ("--seed", spec.seed, 0, MAX_SEED)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InputError(option, f"must be a whole number from {low:,} to {high:,}; got {value!r}")
    if spec.threads is not None and (not isinstance(spec.threads, int) or spec.threads < 1):
        raise InputError("--threads", f"must be a whole number of at least 1; got {spec.threads!r}")
    if spec.workers is not None and (not isinstance(spec.workers, int) or not 1 <= spec.workers <= 1024):
        raise InputError("--workers", f"must be a whole number from 1 to 1,024; got {spec.workers!r}")
    if not 1 <= spec.start[1] <= 12 or not 1900 <= spec.start[0] <= 2200:
        raise InputError("--start", f"must be a month YYYY-MM from 1900 to 2200; got {spec.start!r}")


def resolve_run(spec: RunSpec) -> ResolvedRun:
    """Read and check everything ``spec`` names, hashing each file's bytes as they are read.

    Raises
    ------
    InputError
        The first problem found, naming the file, the line or key, the column and the rule.
    """
    check_bounds(spec)
    if spec.backend not in ("local", "dask"):
        raise InputError("--backend", f"unknown backend {spec.backend!r}; expected local or dask")
    calendar = spec.calendar
    with recording_reads() as reads:
        roles: dict[str, str] = {}
        finance_files = spec.finance_files()
        finance = load_finance(finance_files) if finance_files else None
        roles.update({str(p): "finance" for p in finance_files})
        financial_years = calendar.financial_years()
        unique = np.unique(financial_years)
        complete = np.array([(financial_years == y).sum() == 12 for y in unique])
        if finance is not None:
            try:
                check_money_inputs(finance, unique, complete)
            except FinanceRuleError as error:
                raise as_input_error(error) from None
        rows = _read_parameter_rows(spec, calendar)
        roles.update({str(p): "parameters" for p in spec.parameter_files()})
        base_set = build_parameter_set(rows, calendar)
        draws_path = spec.draws_file()
        draws = _load_draws(draws_path, spec.runs, rows, base_set, calendar) if draws_path else None
        if draws_path:
            roles[str(draws_path)] = "draws"
        if draws is not None and spec.central:  # one parameter set: the draws' means on the base
            rows = rows + central_rows(draws)
            base_set = build_parameter_set(rows, calendar)
            central_of, draws = draws, None
        else:
            central_of = None
        cohort, _ = load_cohort(spec.cohort, calendar)
        roles[str(spec.cohort)] = "cohort"
        baseline = ScenarioPlan(BASELINE, None, str(spec.authority_parameters), "the base parameters", (), finance)
        resolved = ResolvedRun(spec, calendar, cohort, rows, base_set, draws, finance, baseline, [], None,
                               central_of=central_of,
                               money_modelled=finance is not None and modelled(unique, complete))
        seen = {BASELINE}
        for entry in spec.scenarios:
            if entry == BASELINE:
                continue
            path = scenario_file(entry)
            table = read_scenario_table(path)
            roles[str(path)] = "scenario"
            if table["name"] in seen:
                raise InputError(str(path), f"scenario name {table['name']!r} is given twice", key="name")
            seen.add(table["name"])
            builtin = path.parent == BUILTIN_DIR
            resolved.scenarios.append(resolved.plan_table(table, str(path), check_dates=not builtin))
        if spec.sweep is not None:
            resolved.sweep = load_sweep(spec.sweep)
            roles[str(spec.sweep)] = "sweep"
            _plan_sweep(resolved, resolved.sweep)
    resolved.files = [InputFile(roles.get(path, "inputs"), path, digest) for path, digest in reads.items()]
    return resolved
