"""Sweep files (TOML): many scenarios from a grid or a Latin hypercube over levers.

Format::

    name = "capacity_x_assessment"     # scenarios are named NAME-0000, NAME-0001, ...
    design = "grid"                    # or "latin_hypercube"
    samples = 200                      # latin_hypercube: number of scenarios
    seed = 1                           # latin_hypercube: seed of the design
    base = "baseline"                  # optional: a built-in scenario every point builds on

    [[factor]]
    lever = "decision_to_assess"
    from = "2024-04"
    values = [0.3, 0.4, 0.5, 0.631]    # grid: the levels; latin_hypercube: low/high instead

    [[factor]]
    lever = "special_places"
    from = "2025-09"
    low = 0                            # latin_hypercube: uniform on [low, high]
    high = 400
    integer = true                     # round each sampled value (places are whole)

A grid gives every combination of the factors' levels; a Latin hypercube gives ``samples``
points with each factor's range cut into ``samples`` strata, each stratum used once. Each
point is a scenario with one lever setting per factor (the lever's number key: ``value`` for
rates and capacities, ``add`` for places, ``factor`` for reintegration).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.files import parse_toml, read_text
from sendsim.inputs.scenarios import _NAME, _check_keys, _date

SWEEP_KEYS = ("name", "design", "samples", "seed", "base", "description", "factor")
FACTOR_KEYS = ("lever", "from", "values", "low", "high", "integer")
DESIGNS = ("grid", "latin_hypercube")
MAX_SCENARIOS = 100_000
MAX_NAME_LENGTH = 64 - 1 - len(str(MAX_SCENARIOS - 1))  # room for "-" and the widest point number


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
# The number key a sweep varies for each lever, and how a point's table is built from it.
NUMBER_KEY = {"decision_to_assess": "value", "decline_to_issue": "value", "request_growth": "value",
              "review_capacity": "value", "assessment_capacity": "value", "reintegration": "factor",
              "special_places": "add", "srp_places": "add"}


@dataclass(frozen=True)
class Factor:
    lever: str
    date: str
    levels: tuple[float, ...] | None  # grid
    low: float | None                 # latin hypercube
    high: float | None
    integer: bool

    def lever_table(self, value: float) -> dict:
        number = int(round(value)) if self.integer else float(value)
        if self.lever in ("special_places", "srp_places"):
            return {"openings": [{"from": self.date, "add": number}]}
        return {"from": self.date, NUMBER_KEY[self.lever]: number}


@dataclass
class Sweep:
    name: str
    description: str
    source: str
    base: str
    factors: list[Factor]
    points: np.ndarray  # [scenarios, factors] lever values

    @property
    def n_scenarios(self) -> int:
        return int(self.points.shape[0])

    def scenario_name(self, k: int) -> str:
        return f"{self.name}-{k:0{max(4, len(str(self.n_scenarios - 1)))}d}"

    def scenario_tables(self) -> Iterator[dict]:
        """The scenario table of each point, one at a time (memory flat in the number)."""
        for k in range(self.n_scenarios):
            levers = {f.lever: f.lever_table(v) for f, v in zip(self.factors, self.points[k])}
            yield {"name": self.scenario_name(k), "base": self.base, "levers": levers,
                   "description": f"{self.name} point {k}: " + ", ".join(
                       f"{f.lever}={v:g}" for f, v in zip(self.factors, self.points[k]))}


def latin_hypercube(samples: int, dimensions: int, rng: np.random.Generator) -> np.ndarray:
    """Points in [0, 1)^d: each dimension's [0, 1) cut into ``samples`` strata, each used once."""
    strata = np.stack([rng.permutation(samples) for _ in range(dimensions)], axis=1)
    return (strata + rng.random((samples, dimensions))) / samples


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file and lay out its design points."""
    file = str(path)
    table = parse_toml(file, read_text(path))
    _check_keys(file, "(top level)", table, SWEEP_KEYS, ("name", "design", "factor"))
    name = table["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InputError(file, "must be letters, digits, '_', '.', '-' (it names folders)", key="name")
    # Each point is a scenario named NAME-0000 ...: the whole name must fit a scenario name.
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(file, f"must be at most {MAX_NAME_LENGTH} characters: its points are named {name}-0000 and "
                         "so on, and a scenario name has at most 64", key="name")
    design = table["design"]
    if design not in DESIGNS:
        raise InputError(file, f"unknown design {design!r}; expected one of {', '.join(DESIGNS)}", key="design")
    raw_factors = table["factor"]
    if not isinstance(raw_factors, list) or not raw_factors:
        raise InputError(file, "needs at least one [[factor]]", key="factor")
    factors = []
    for k, raw in enumerate(raw_factors):
        key = f"factor[{k}]"
        _check_keys(file, key, raw, FACTOR_KEYS, ("lever", "from"))
        lever = raw["lever"]
        if lever not in NUMBER_KEY:
            raise InputError(file, f"lever {lever!r} cannot be swept; sweepable: {', '.join(NUMBER_KEY)}",
                             key=f"{key}.lever")
        date = _date(file, f"{key}.from", raw["from"])
        integer = raw.get("integer", lever in ("special_places", "srp_places"))
        if not isinstance(integer, bool):
            raise InputError(file, "must be true or false", key=f"{key}.integer")
        if design == "grid":
            if "values" not in raw or "low" in raw or "high" in raw:
                raise InputError(file, "a grid factor gives 'values' (a list), not low/high", key=key)
            values = raw["values"]
            if not isinstance(values, list) or not values or not all(_finite_number(v) for v in values):
                raise InputError(file, "must be a non-empty list of finite numbers", key=f"{key}.values")
            factors.append(Factor(lever, date, tuple(float(v) for v in values), None, None, integer))
        else:
            if "values" in raw or "low" not in raw or "high" not in raw:
                raise InputError(file, "a latin_hypercube factor gives 'low' and 'high', not values", key=key)
            low, high = raw["low"], raw["high"]
            if not all(_finite_number(v) for v in (low, high)) or low > high:
                raise InputError(file, "low and high must be finite numbers with low <= high", key=key)
            factors.append(Factor(lever, date, None, float(low), float(high), integer))
    if len({f.lever for f in factors}) != len(factors):
        raise InputError(file, "each lever can be a factor once", key="factor")
    if design == "grid":
        levels = [f.levels or () for f in factors]  # every factor of a grid has its levels
        n = math.prod(len(f) for f in levels)  # Python integers: no overflow, however many levels
        if n > MAX_SCENARIOS:
            raise InputError(file, f"the grid has {n} points; at most {MAX_SCENARIOS}", key="factor")
        points = np.array(list(itertools.product(*levels)), dtype=float)
    else:
        samples = table.get("samples")
        if not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= MAX_SCENARIOS:
            raise InputError(file, f"must be a whole number from 1 to {MAX_SCENARIOS}", key="samples")
        seed = table.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InputError(file, "must be a whole number >= 0", key="seed")
        unit = latin_hypercube(samples, len(factors), np.random.default_rng(seed))
        low = np.array([f.low for f in factors])
        high = np.array([f.high for f in factors])
        points = low + unit * (high - low)
    for j, f in enumerate(factors):
        if f.integer:
            points[:, j] = np.round(points[:, j])
    base = table.get("base", "baseline")
    if not isinstance(base, str):
        raise InputError(file, "must be the name of a built-in scenario", key="base")
    return Sweep(name=name, description=str(table.get("description", "")), source=file, base=base, factors=factors,
                 points=points)
