"""Mitigations: a plan's measures as scenario content, each with a start, a ramp, a target group,
an effect and a probability of delivery.

A scenario file lists them as ``[[mitigation]]`` tables (docs/scenarios.md)::

    [[mitigation]]
    name = "post16_pathways"                 # letters, digits, _ (a key of the mitigation log)
    description = "More post-16 phase transfers into FE colleges instead of specialist placements."
    source = "seed Condition 5: ..."          # where the effect and its size come from
    start = "2024-09"                         # first month with any effect
    ramp_months = 12                          # linear ramp to the full effect (0: full at once)
    delivery = 0.5                            # probability the measure is delivered at all
    delivery_source = "seed Condition 5 rated amber; the specialist share rose 35.3% to 37.1%"
    target = { need = "all", age = "15-17", placement = "special" }   # optional: age, need, placement
    effect = { kind = "shift", parameter = "phase_transfer", transfer = "post16",
               from = ["independent", "post16_specialist", "special"], to = "fe", share = 0.1 }

Effects (``kind``):

- engine effects, applied to the run's parameter set from ``start`` (ramped month by month):
  ``scale`` (a parameter's target cells x ``factor``), ``shift`` (a share of a distribution's
  mass moved from destinations ``from`` to ``to``), ``places`` (``add`` places of ``srp`` or
  ``special``);
- money effects, finance rows (the year's average of the ramp): ``price_saving`` (the price level
  of the target placements less ``share``), ``price_hold`` (their price growth held to
  ``growth`` from the financial year of ``start``), ``health_contribution`` (the NHS pays
  ``share`` of the spend on the target placements and ages), ``spend_line`` (a line x
  ``factor``).

Each run draws whether each mitigation is delivered: ``u < delivery`` with ``u`` a pure function
of (seed, run, mitigation name) (:func:`sendsim.money.draws.uniforms`, common random numbers). A
run where a mitigation is not delivered runs without it; its parameter set and its finance rows
are the scenario's without that mitigation. Before ``start`` a mitigation changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import rows_from_table
from sendsim.money.draws import uniforms
from sendsim.money.schema import AGE_BANDS, SPEND_LINES, FinanceRow, fy_label
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import DIMENSION_LABELS, KIND_RANGES, SCHEMA, ParameterSet, ParameterValues, epoch_starts

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_DATE = re.compile(r"^(\d{4})-(\d{2})$")
_AGES = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})$")
KEYS = ("name", "description", "source", "start", "ramp_months", "delivery", "delivery_source", "target", "effect")
TARGET_KEYS = ("age", "need", "placement")
ENGINE_KINDS = ("scale", "shift", "places")
MONEY_KINDS = ("price_saving", "price_hold", "health_contribution", "spend_line")
EFFECT_KEYS = {
    "scale": ("kind", "parameter", "factor"),
    "shift": ("kind", "parameter", "transfer", "from", "to", "share"),
    "places": ("kind", "placement", "add"),
    "price_saving": ("kind", "share"),
    "price_hold": ("kind", "growth"),
    "health_contribution": ("kind", "share"),
    "spend_line": ("kind", "line", "factor"),
}
# Parameters a scale effect may change: not distributions, cells by age, need or placement.
SCALABLE = tuple(name for name, spec in SCHEMA.items()
                 if not spec.distribution and set(spec.dims) <= {"age", "need", "placement"}
                 and name not in ("places", "max_occupancy"))
SHIFTABLE = ("first_placement", "phase_transfer", "review_move", "arrival_placement", "move")
# The parameter whose epochs are padded when parameter sets of different runs are compiled together.
PAD_PARAMETER = "request_growth"


@dataclass(frozen=True)
class Mitigation:
    """One measure of a plan (see the module docstring). ``target`` holds, per dimension the
    mitigation names, the codes it covers (a missing dimension: every code)."""

    name: str
    description: str
    source: str
    start: tuple[int, int]
    ramp_months: int
    delivery: float
    delivery_source: str
    target: dict = field(default_factory=dict)
    effect: dict = field(default_factory=dict)
    file: str = ""

    @property
    def kind(self) -> str:
        return self.effect["kind"]

    @property
    def changes_engine(self) -> bool:
        return self.kind in ENGINE_KINDS

    def fraction(self, calendar: Calendar, month: int) -> float:
        """Share of the full effect in force in month ``month`` of the run (linear ramp)."""
        since = month - calendar.month_index(*self.start)
        if since < 0:
            return 0.0
        if self.ramp_months <= 0:
            return 1.0
        return min(1.0, (since + 1) / self.ramp_months)

    def year_fraction(self, calendar: Calendar, fy: int) -> float:
        """The financial year's average share of the full effect (April to March)."""
        months = [calendar.month_index(fy, 4) + k for k in range(12)]
        return float(np.mean([self.fraction(calendar, m) for m in months]))

    # ---- engine effects --------------------------------------------------------------------------
    def apply(self, parameter_set: ParameterSet, calendar: Calendar) -> ParameterSet:
        """The parameter set with this mitigation's engine effect (unchanged for money effects)."""
        if not self.changes_engine:
            return parameter_set
        name = "places" if self.kind == "places" else self.effect["parameter"]
        out = dict(parameter_set)
        out[name] = _transform(parameter_set[name], calendar, self, lambda v, f: self._change(name, v, f))
        return out

    def _mask(self, name: str) -> np.ndarray:
        """Boolean mask of the target cells over the parameter's dimensions (a distribution's
        last dimension, the destination, excluded)."""
        spec = SCHEMA[name]
        dims = spec.dims[:-1] if spec.distribution else spec.dims
        mask = np.ones(tuple(len(DIMENSION_LABELS[d]) for d in dims), dtype=bool)
        for axis, dim in enumerate(dims):
            key = "transfer" if dim == "transfer" else dim
            chosen = self.target.get(key) if key != "transfer" else self.effect.get("transfer_codes")
            if chosen is None:
                continue
            keep = np.zeros(mask.shape[axis], dtype=bool)
            keep[list(chosen)] = True
            shape = [1] * mask.ndim
            shape[axis] = -1
            mask &= keep.reshape(shape)
        return mask

    def _change(self, name: str, values: np.ndarray, fraction: float) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        if self.kind == "scale":
            low, high, _ = KIND_RANGES[SCHEMA[name].kind]
            mask = self._mask(name)
            out[mask] = np.clip(out[mask] * (1.0 + (self.effect["factor"] - 1.0) * fraction), low, high)
        elif self.kind == "shift":
            mask = self._mask(name)
            moved = out[mask][..., self.effect["from_codes"]] * (self.effect["share"] * fraction)
            block = out[mask]
            block[..., self.effect["from_codes"]] -= moved
            block[..., self.effect["to_code"]] += moved.sum(axis=-1)
            out[mask] = block
        else:  # places
            p = codes.PLACEMENTS.index(self.effect["placement"])
            if out[p] >= 0:
                out[p] = out[p] + round(self.effect["add"] * fraction)
        return out

    # ---- money effects -----------------------------------------------------------------------------
    def finance_rows(self, calendar: Calendar) -> list[FinanceRow]:
        """The mitigation's finance rows (money effects) for the run's financial years."""
        if self.changes_engine:
            return []
        years = [int(y) for y in np.unique(calendar.financial_years())]
        source = f"mitigation {self.name}"
        placements = [codes.PLACEMENTS[p] for p in self.target.get("placement", range(codes.N_PLACEMENTS))]
        entries: list[dict] = []
        if self.kind == "price_hold":
            first = self.start[0] if self.start[1] >= 4 else self.start[0] - 1
            entries = [{"name": "price_hold", "financial_year": fy_label(first), "placement": p,
                        "value": self.effect["growth"], "unit": "fraction", "source": source} for p in placements]
        for fy in years:
            share = self.year_fraction(calendar, fy)
            if share <= 0:
                continue
            if self.kind == "price_saving":
                entries += [{"name": "price_saving", "financial_year": fy_label(fy), "placement": p,
                             "value": self.effect["share"] * share, "unit": "share", "source": source}
                            for p in placements]
            elif self.kind == "health_contribution":
                bands = sorted({AGE_BANDS[codes.AGE_BAND_OF_AGE[a]]
                                for a in self.target.get("age", range(codes.N_AGES))})
                entries += [{"name": "health_contribution_share", "financial_year": fy_label(fy), "placement": p,
                             "age_band": b, "value": self.effect["share"] * share, "unit": "share",
                             "source": source} for p in placements for b in bands]
            elif self.kind == "spend_line":
                entries.append({"name": "spend_line_factor", "financial_year": fy_label(fy),
                                "line": self.effect["line"], "value": 1.0 + (self.effect["factor"] - 1.0) * share,
                                "unit": "share", "source": source})
        return rows_from_table(self.file, f"mitigation {self.name}", {"rows": entries}) if entries else []


def _transform(values: ParameterValues, calendar: Calendar, mitigation: Mitigation, change) -> ParameterValues:
    """The parameter's dated values with the mitigation applied: new epochs at each month of the
    ramp; at every epoch from the start the base value there, changed by the ramp's share."""
    start = calendar.month_index(*mitigation.start)
    ramp = [start + k for k in range(max(1, mitigation.ramp_months))]
    starts = sorted({int(s) for s in values.starts} | {max(0, m) for m in ramp if m < calendar.n_months})
    out = []
    for s in starts:
        base = values.at_month(s)
        fraction = mitigation.fraction(calendar, s)
        out.append(change(base, fraction) if fraction > 0 else np.array(base, dtype=float, copy=True))
    return ParameterValues(np.array(starts, dtype=np.int64), np.stack(out))


def align_epochs(sets: list[ParameterSet]) -> list[ParameterSet]:
    """Parameter sets compiled together must change value at the same months: each set gets the
    months at which any other changes as extra epochs (with unchanged values) of one parameter."""
    union = sorted(set().union(*(set(int(s) for s in epoch_starts(ps)) for ps in sets)))
    out = []
    for ps in sets:
        missing = sorted(set(union) - set(int(s) for s in epoch_starts(ps)))
        if not missing:
            out.append(ps)
            continue
        values = ps[PAD_PARAMETER]
        starts = sorted(set(int(s) for s in values.starts) | set(missing))
        padded = ParameterValues(np.array(starts, dtype=np.int64), np.stack([values.at_month(s) for s in starts]))
        out.append({**ps, PAD_PARAMETER: padded})
    return out


def delivered(mitigations: tuple[Mitigation, ...], seed: int, runs: np.ndarray) -> np.ndarray:
    """[R, K] whether each mitigation is delivered in each run: u < delivery, u a pure function
    of (seed, run, mitigation name)."""
    runs = np.asarray(runs, dtype=np.int64)
    out = np.zeros((runs.size, len(mitigations)), dtype=bool)
    for k, m in enumerate(mitigations):
        out[:, k] = uniforms(seed, runs, f"mitigation:{m.name}") < m.delivery
    return out


# ---- Reading -------------------------------------------------------------------------------------
def _codes(file: str, key: str, dim: str, text) -> tuple[int, ...]:
    labels = DIMENSION_LABELS["age" if dim == "age" else dim]
    items = text if isinstance(text, list) else [text]
    chosen: list[int] = []
    for item in items:
        item = str(item).strip()
        if item == "all":
            return tuple(range(len(labels)))
        match = _AGES.match(item) if dim == "age" else None
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if not 0 <= low <= high <= codes.MAX_AGE:
                raise InputError(file, f"age range {item!r} must lie within 0-{codes.MAX_AGE}", key=key)
            chosen += list(range(low, high + 1))
        elif item in labels:
            chosen.append(labels.index(item))
        else:
            raise InputError(file, f"unknown {dim} {item!r}; expected one of {', '.join(labels)}, a list, or all"
                             + (", or a range like 16-19" if dim == "age" else ""), key=key)
    return tuple(sorted(set(chosen)))


def _number(file: str, key: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(file, f"must be a number, got {value!r}", key=key)
    if not low <= float(value) <= high:
        raise InputError(file, f"{value!r} is out of range: must lie in [{low:g}, {high:g}]", key=key)
    return float(value)


def _check_keys(file: str, key: str, table, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    if not isinstance(table, dict):
        raise InputError(file, "must be a table", key=key)
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise InputError(file, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}",
                         key=key)
    missing = [k for k in required if k not in table]
    if missing:
        raise InputError(file, f"missing key(s) {', '.join(map(repr, missing))}", key=key)


def _effect(file: str, key: str, table, target: dict) -> dict:
    if not isinstance(table, dict) or table.get("kind") not in EFFECT_KEYS:
        raise InputError(file, f"needs kind = one of {', '.join(EFFECT_KEYS)}", key=f"{key}.kind")
    kind = table["kind"]
    allowed = EFFECT_KEYS[kind]
    required = tuple(k for k in allowed if k != "transfer")
    _check_keys(file, key, table, allowed, required)
    effect = dict(table)
    if kind == "scale":
        if table["parameter"] not in SCALABLE:
            raise InputError(file, f"a scale effect changes one of {', '.join(SCALABLE)}", key=f"{key}.parameter")
        effect["factor"] = _number(file, f"{key}.factor", table["factor"], 0.0, 100.0)
        dims = SCHEMA[table["parameter"]].dims
        for dim in target:
            if dim not in dims:
                raise InputError(file, f"{table['parameter']} has no {dim} dimension to target", key=key)
    elif kind == "shift":
        parameter = table["parameter"]
        if parameter not in SHIFTABLE:
            raise InputError(file, f"a shift effect changes one of {', '.join(SHIFTABLE)}", key=f"{key}.parameter")
        dims = SCHEMA[parameter].dims
        for dim in target:
            if dim not in dims:
                raise InputError(file, f"{parameter} has no {dim} dimension to target", key=key)
        if ("transfer" in dims) != ("transfer" in table):
            raise InputError(file, "give 'transfer' exactly when the parameter is phase_transfer", key=key)
        if "transfer" in table:
            effect["transfer_codes"] = _codes(file, f"{key}.transfer", "transfer", table["transfer"])
        destinations = DIMENSION_LABELS[dims[-1]]
        sources = table["from"] if isinstance(table["from"], list) else [table["from"]]
        if not sources or any(s not in destinations for s in sources) or table["to"] not in destinations:
            raise InputError(file, f"'from' and 'to' must be destinations of {parameter}: {', '.join(destinations)}",
                             key=key)
        if table["to"] in sources:
            raise InputError(file, "'to' must not be among 'from'", key=key)
        effect["from_codes"] = [destinations.index(s) for s in sources]
        effect["to_code"] = destinations.index(table["to"])
        effect["share"] = _number(file, f"{key}.share", table["share"], 0.0, 1.0)
    elif kind == "places":
        if table["placement"] not in [codes.PLACEMENTS[p] for p in codes.CAPACITY_LIMITED]:
            raise InputError(file, "places can be added to srp or special", key=f"{key}.placement")
        add = _number(file, f"{key}.add", table["add"], -1e6, 1e6)
        if add != int(add):
            raise InputError(file, "must be a whole number of places", key=f"{key}.add")
        effect["add"] = int(add)
    elif kind == "price_hold":
        effect["growth"] = _number(file, f"{key}.growth", table["growth"], -0.5, 1.0)
    elif kind in ("price_saving", "health_contribution"):
        effect["share"] = _number(file, f"{key}.share", table["share"], 0.0, 1.0)
    else:  # spend_line
        if table["line"] not in SPEND_LINES:
            raise InputError(file, f"line must be one of {', '.join(SPEND_LINES)}", key=f"{key}.line")
        effect["factor"] = _number(file, f"{key}.factor", table["factor"], 0.0, 10.0)
    if kind in MONEY_KINDS and "need" in target:
        raise InputError(file, "money effects target placements and ages, not needs", key=key)
    return effect


def read_mitigations(file: str, entries) -> list[Mitigation]:
    """Parse and check a scenario's ``[[mitigation]]`` tables (errors name the file and key)."""
    if not isinstance(entries, list):
        raise InputError(file, "must be an array of tables [[mitigation]]", key="mitigation")
    out: list[Mitigation] = []
    for k, entry in enumerate(entries):
        key = f"mitigation[{k}]"
        _check_keys(file, key, entry, KEYS, ("name", "source", "start", "delivery", "delivery_source", "effect"))
        name = entry["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(file, "must be 1-48 lower-case letters, digits or _, starting with a letter",
                             key=f"{key}.name")
        if name in {m.name for m in out}:
            raise InputError(file, f"mitigation {name!r} is given twice", key=f"{key}.name")
        start = entry["start"]
        match = _DATE.match(start) if isinstance(start, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(file, f"'start' must be a month \"YYYY-MM\", got {start!r}", key=f"{key}.start")
        ramp = _number(file, f"{key}.ramp_months", entry.get("ramp_months", 0), 0, 600)
        if ramp != int(ramp):
            raise InputError(file, "must be a whole number of months", key=f"{key}.ramp_months")
        for text_key in ("source", "delivery_source"):
            if not isinstance(entry[text_key], str) or not entry[text_key].strip():
                raise InputError(file, "every mitigation states its source", key=f"{key}.{text_key}")
        target_table = entry.get("target", {})
        _check_keys(file, f"{key}.target", target_table, TARGET_KEYS, ())
        target = {dim: _codes(file, f"{key}.target.{dim}", dim, value) for dim, value in target_table.items()}
        out.append(Mitigation(name=name, description=str(entry.get("description", "")), source=entry["source"],
                              start=(int(match.group(1)), int(match.group(2))), ramp_months=int(ramp),
                              delivery=_number(file, f"{key}.delivery", entry["delivery"], 0.0, 1.0),
                              delivery_source=entry["delivery_source"], target=target,
                              effect=_effect(file, f"{key}.effect", entry["effect"], target), file=file))
    return out


def describe(mitigation: Mitigation) -> str:
    """One line: what the mitigation changes, from when, for whom, with what probability."""
    effect = {k: v for k, v in mitigation.effect.items() if not k.endswith(("_codes", "_code"))}
    target = ", ".join(f"{dim} {_label(dim, cells)}" for dim, cells in mitigation.target.items()) or "everyone"
    return (f"{mitigation.name}: {effect} for {target}, from {mitigation.start[0]:04d}-{mitigation.start[1]:02d} "
            f"over {mitigation.ramp_months} months, delivered with probability {mitigation.delivery:g}")


def _label(dim: str, cells: tuple[int, ...]) -> str:
    labels = DIMENSION_LABELS[dim]
    if dim == "age" and cells and cells == tuple(range(cells[0], cells[-1] + 1)):
        return f"{cells[0]}-{cells[-1]}"
    return "/".join(labels[c] for c in cells)
