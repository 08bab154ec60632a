"""The finance rules: from the finance rows to every yearly series of the money model.

Every rule is in the docstring of the method that applies it, and in ``docs/money.md``: price
indices of the cost types and of each placement, the other spend lines, the High Needs Block,
the Schools Block transfer, the Early Years Block contribution, the recharges for other
authorities' looked-after children, the other blocks' positions, the council's and the
Department's Safety Valve contributions, the profile and the outturns. Pure: rows in, numbers
out; a rule the rows cannot satisfy raises :class:`~sendsim.money.schema.FinanceRuleError`.
"""
from __future__ import annotations

import numpy as np

from sendsim.money.schema import (ITEMS, OTHER_BLOCKS, SPEND_LINES, WEIGHT_TOLERANCE, FinanceRow, FinanceRuleError,
                                  fy_label)
from sendsim.simcore import codes


def layer(rows: list[FinanceRow]) -> list[FinanceRow]:
    """Later rows replace earlier ones with the same identity (name, keys, financial year)."""
    out: dict[tuple, FinanceRow] = {}
    for row in rows:
        out.pop(row.identity, None)
        out[row.identity] = row
    return list(out.values())


class FinanceBook:
    """The layered finance rows and every yearly series the money model derives from them.

    Parameters
    ----------
    rows
        Finance rows in order: a later row replaces an earlier one with the same name, keys and
        financial year.
    files
        The files the rows came from (for messages).
    """

    def __init__(self, rows: list[FinanceRow], files: list[str]) -> None:
        self.rows = layer(rows)
        self.files = files
        self._check()

    # ---- lookups ---------------------------------------------------------------------------
    def _of(self, name: str, **keys: str) -> list[FinanceRow]:
        return [r for r in self.rows if r.name == name and all(getattr(r, k) == v for k, v in keys.items())]

    def _error(self, rule: str, rows: list[FinanceRow] | None = None, column: str | None = None
               ) -> FinanceRuleError:
        if rows:
            return FinanceRuleError(rows[0].file, rule, row=rows[0].line_number, column=column)
        return FinanceRuleError(", ".join(self.files), rule)

    def scalar(self, name: str) -> float:
        """The value of an undated item (required)."""
        found = self._of(name)
        if not found:
            raise self._error(f"finance item {name} is required ({ITEMS[name].description})")
        return found[-1].value

    def year_value(self, name: str, fy: int, **keys: str) -> float | None:
        """The value of a per-year item for exactly that year, or None."""
        for row in self._of(name, **keys):
            if row.financial_year == fy:
                return row.value
        return None

    def in_force(self, name: str, fy: int, default: float | None = None, **keys: str) -> float:
        """The value of a 'from' item in force in ``fy``: the latest row dated on or before it."""
        best = None
        for row in self._of(name, **keys):
            if row.financial_year <= fy and (best is None or row.financial_year > best.financial_year):
                best = row
        if best is not None:
            return best.value
        if default is not None:
            return default
        what = ", ".join(f"{k}={v}" for k, v in keys.items())
        raise self._error(f"finance item {name}{' (' + what + ')' if what else ''} has no row in force in "
                          f"{fy_label(fy)}: add one dated {fy_label(fy)} or earlier")

    def years(self, name: str) -> list[int]:
        return sorted({r.financial_year for r in self._of(name)})

    # ---- validation of the whole set ----------------------------------------------------------
    def _check(self) -> None:
        for placement in codes.PLACEMENTS:
            weights = self._of("placement_cost_weight", placement=placement)
            total = sum(r.value for r in weights)
            if not weights:
                raise self._error(f"placement {placement} has no placement_cost_weight rows")
            if abs(total - 1.0) > WEIGHT_TOLERANCE:
                raise self._error(f"placement_cost_weight rows of {placement} sum to {total:.6g}, not 1", weights,
                                  "value")
        for row in self._of("placement_cost_weight") + self._of("spend_line"):
            if not self._of("cost_growth", cost_type=row.cost_type) and len(
                    self._of("cost_level", cost_type=row.cost_type)) < 2:
                raise self._error(f"cost type {row.cost_type} has neither cost_growth rows nor two cost_level rows",
                                  [row], "cost_type")
        for row in self._of("early_years_block_share"):
            if not self._of("spend_line", line=row.line):
                raise self._error(f"early_years_block_share names line {row.line}, which has no spend_line rows",
                                  [row], "line")
        if not self._of("sv_profile"):
            raise self._error("the Safety Valve profile (sv_profile rows) is required")
        profile_years = self.years("sv_profile")
        if profile_years != list(range(profile_years[0], profile_years[-1] + 1)):
            raise self._error("sv_profile rows must cover consecutive financial years", self._of("sv_profile"),
                              "financial_year")
        for name in ("council_contribution", "dfe_instalment"):
            for row in self._of(name):
                if row.financial_year not in profile_years:
                    raise self._error(f"{name} in {fy_label(row.financial_year)} is outside the agreement "
                                      f"({fy_label(profile_years[0])} to {fy_label(profile_years[-1])})", [row],
                                      "financial_year")

    # ---- cost growth ------------------------------------------------------------------------------
    def cost_growth(self, cost_type: str, fy: int) -> float:
        """Growth of a cost type in ``fy``: the cost_growth row in force; without one, the
        annualised growth between the cost type's first and last cost_level rows."""
        if any(r.financial_year <= fy for r in self._of("cost_growth", cost_type=cost_type)):
            return self.in_force("cost_growth", fy, cost_type=cost_type)
        levels = sorted(self._of("cost_level", cost_type=cost_type), key=lambda r: r.financial_year)
        if len(levels) < 2:
            raise self._error(f"cost type {cost_type} has no growth in force in {fy_label(fy)} (no cost_growth row "
                              "dated then or earlier, and fewer than two cost_level rows)")
        first, last = levels[0], levels[-1]
        return (last.value / first.value) ** (1.0 / (last.financial_year - first.financial_year)) - 1.0

    def cost_index(self, cost_type: str, base_fy: int, fy: int) -> float:
        """Price level of a cost type in ``fy`` relative to ``base_fy`` (1 in the base year)."""
        index = 1.0
        for y in range(base_fy + 1, fy + 1):
            index *= 1.0 + self.cost_growth(cost_type, y)
        for y in range(fy + 1, base_fy + 1):
            index /= 1.0 + self.cost_growth(cost_type, y)
        return index

    def placement_index(self, base_fy: int, fy: int) -> np.ndarray:
        """Price level of each placement in ``fy`` relative to ``base_fy``: the weighted sum of
        its cost types' indices (weights are shares of the base-year unit cost)."""
        out = np.zeros(codes.N_PLACEMENTS)
        for row in self._of("placement_cost_weight"):
            out[codes.PLACEMENTS.index(row.placement)] += row.value * self.cost_index(row.cost_type, base_fy, fy)
        return out

    def placement_growth(self, fy: int, base_fy: int | None = None) -> np.ndarray:
        """Growth of each placement's price in ``fy`` over ``fy - 1``."""
        base = fy - 1 if base_fy is None else base_fy
        return self.placement_index(base, fy) / self.placement_index(base, fy - 1) - 1.0

    # ---- spend lines --------------------------------------------------------------------------------
    def spend_line(self, line: str, fy: int) -> float:
        """Spend on a line in ``fy``: the spend_line row in force, at its year's prices, grown by
        its cost type's index to ``fy``; 0 before the line's first row."""
        rows = [r for r in self._of("spend_line", line=line) if r.financial_year <= fy]
        if not rows:
            return 0.0
        row = max(rows, key=lambda r: r.financial_year)
        return row.value * self.cost_index(row.cost_type, row.financial_year, fy)

    def spend_lines(self, fy: int) -> dict[str, float]:
        return {line: self.spend_line(line, fy) for line in SPEND_LINES}

    # ---- income ----------------------------------------------------------------------------------------
    def schools_block(self, fy: int) -> float:
        """The Schools Block: fixed by a year with a known transfer in GBP and its share
        (transfer / share), then moved year by year with schools_block_growth."""
        anchors = [r for r in self._of("schools_block_transfer")]
        if not anchors:
            raise self._error("finance item schools_block_transfer is required (it fixes the Schools Block)")
        anchor = max(anchors, key=lambda r: r.financial_year)
        share = self.in_force("schools_block_transfer_share", anchor.financial_year)
        if share <= 0:
            raise self._error("the schools_block_transfer_share in force in the year of the schools_block_transfer "
                              "row must be positive", [anchor], "value")
        block = anchor.value / share
        for y in range(anchor.financial_year + 1, fy + 1):
            block *= 1.0 + self.in_force("schools_block_growth", y)
        for y in range(fy + 1, anchor.financial_year + 1):
            block /= 1.0 + self.in_force("schools_block_growth", y)
        return block

    def schools_block_transfer_gbp(self, fy: int) -> float:
        return self.in_force("schools_block_transfer_share", fy) * self.schools_block(fy)

    def hnb_allocation(self, fy: int) -> float:
        """The High Needs Block allocation. Anchor: the latest hnb_budget year, whose budget is
        the allocation plus the Schools Block transfer it included (hnb_budget_transfer_share,
        so that a scenario switching the transfer off does not move the allocation). Earlier years step back by the
        hnb_increase of each later year; later years add that year's hnb_increase if given,
        else grow by hnb_growth."""
        budgets = self._of("hnb_budget")
        if not budgets:
            raise self._error("finance item hnb_budget is required (it fixes the High Needs Block)")
        anchor = max(budgets, key=lambda r: r.financial_year)
        a = anchor.financial_year
        included = self.year_value("hnb_budget_transfer_share", a)
        if included is None:
            raise self._error(f"hnb_budget_transfer_share for {fy_label(a)} is required with the hnb_budget row",
                              [anchor], "name")
        allocation = anchor.value - included * self.schools_block(a)
        for y in range(a + 1, fy + 1):
            increase = self.year_value("hnb_increase", y)
            allocation = allocation + increase if increase is not None else allocation * (
                1.0 + self.in_force("hnb_growth", y))
        for y in range(a, fy, -1):
            increase = self.year_value("hnb_increase", y)
            if increase is None:
                raise self._error(f"no hnb_increase for {fy_label(y)}: the allocation of {fy_label(y - 1)} cannot be "
                                  "derived from the hnb_budget year")
            allocation -= increase
        return allocation

    def early_years_block_contribution(self, fy: int) -> float:
        return sum(self.in_force("early_years_block_share", fy, default=0.0, line=line) * self.spend_line(line, fy)
                   for line in SPEND_LINES)

    def ola_recharge(self, fy: int, average_plan_cost_gbp: np.ndarray | float) -> np.ndarray | float:
        """Recharges to other authorities for their looked-after children's plans: plans x the
        year's average cost of a plan x the share recovered."""
        return (self.in_force("ola_lac_plans", fy) * self.in_force("ola_recharge_share", fy)
                * np.asarray(average_plan_cost_gbp, dtype=float))

    def other_blocks(self, fy: int) -> dict[str, float]:
        return {block: self.in_force("other_block_in_year", fy, default=0.0, line=block) for block in OTHER_BLOCKS}

    # ---- Safety Valve -------------------------------------------------------------------------------
    def agreement_years(self) -> list[int]:
        """The financial years of the agreement: those of the profile."""
        return self.years("sv_profile")

    def profile(self, fy: int) -> float | None:
        return self.year_value("sv_profile", fy)

    def outturn(self, fy: int) -> float | None:
        return self.year_value("accumulated_deficit_outturn", fy)

    def hn_in_year_outturn(self, fy: int) -> float | None:
        """Outturn in-year high-needs deficit: the profile's figure plus the outturn variance."""
        profile = self.year_value("hn_in_year_deficit_profile", fy)
        variance = self.year_value("hn_in_year_deficit_variance", fy)
        return None if profile is None or variance is None else profile + variance

    def balancing_council_contribution(self, fy: int) -> float | None:
        """The council's contribution implied by the outturns: opening + in-year high-needs
        deficit + the other blocks' positions - closing. None if an outturn is missing."""
        opening, closing, high_needs = self.outturn(fy - 1), self.outturn(fy), self.hn_in_year_outturn(fy)
        if opening is None or closing is None or high_needs is None:
            return None
        return opening + high_needs + sum(self.other_blocks(fy).values()) - closing

    def council_contribution(self, fy: int) -> float:
        """The council's contribution in ``fy``: its council_contribution row if any; else, in a
        year whose outturns fix it, the balancing item; else an even share of what is left of
        council_contribution_total over the remaining agreement years; 0 outside the agreement."""
        years = self.agreement_years()
        if fy not in years:
            return 0.0
        fixed = {}
        for y in years:
            value = self.year_value("council_contribution", y)
            fixed[y] = value if value is not None else self.balancing_council_contribution(y)
        if fixed[fy] is not None:
            return fixed[fy]
        known = sum(v for v in fixed.values() if v is not None)
        open_years = [y for y in years if fixed[y] is None]
        return (self.scalar("council_contribution_total") - known) / len(open_years)

    def dfe_instalment(self, fy: int) -> float:
        """The Department's instalment due in ``fy``: its dfe_instalment row if any, else an even
        share of what is left of dfe_instalment_total over the remaining agreement years."""
        years = self.agreement_years()
        if fy not in years:
            return 0.0
        value = self.year_value("dfe_instalment", fy)
        if value is not None:
            return value
        given = {y: self.year_value("dfe_instalment", y) for y in years}
        known = sum(v for v in given.values() if v is not None)
        open_years = [y for y in years if given[y] is None]
        return (self.scalar("dfe_instalment_total") - known) / len(open_years)

    def reconcile(self, fy: int) -> list[tuple[str, float]]:
        """The outturn arithmetic of ``fy``, line by line (GBP): opening accumulated deficit,
        in-year high-needs deficit (profile + variance), other blocks, minus the council's
        contribution, equals the closing accumulated deficit. Raises if an outturn is missing."""
        opening, closing = self.outturn(fy - 1), self.outturn(fy)
        profile = self.year_value("hn_in_year_deficit_profile", fy)
        variance = self.year_value("hn_in_year_deficit_variance", fy)
        if None in (opening, closing, profile, variance):
            raise self._error(f"outturns for {fy_label(fy - 1)} and {fy_label(fy)} and the in-year high-needs "
                              f"deficit of {fy_label(fy)} are needed to reconcile {fy_label(fy)}")
        lines = [(f"accumulated deficit 31 March {fy}", opening),
                 ("in-year high-needs deficit, Safety Valve profile", profile),
                 ("in-year high-needs variance at outturn", variance)]
        lines += [(f"{block.replace('_', ' ')} in-year", value) for block, value in self.other_blocks(fy).items()]
        lines.append(("council's contribution (balancing item)", -self.council_contribution(fy)))
        lines.append((f"accumulated deficit 31 March {fy + 1}", closing))
        return lines

    def with_rows(self, extra: list[FinanceRow]) -> "FinanceBook":
        """The book with ``extra`` rows layered on top (a scenario's ``[finance]`` rows)."""
        files = self.files + sorted({r.file for r in extra} - set(self.files))
        return FinanceBook(self.rows + extra, files)
