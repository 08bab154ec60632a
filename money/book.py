"""The finance rules: from the finance rows to every yearly series of the money model.

Every rule is in the docstring of the method that applies it, and in ``docs/money.md``: the cost
types (pay by dated awards, the share of an award funded by separate grants), each placement's
price (the authority's decided uplift, else its providers' cost structure, held or reduced by a
plan's mitigations), the lines outside individual plans, the High Needs Block (gross, its growth
drawn where a distribution is given, the deductions for places funded directly), the Schools
Block transfer, the other income, the other blocks' positions, the council's and the
Department's Safety Valve contributions, the profile and the outturns. Pure: rows in, numbers
out; a rule the rows cannot satisfy raises :class:`~sendsim.money.schema.FinanceRuleError`.
"""
from __future__ import annotations

import numpy as np

from sendsim.money.schema import (
    AGE_BANDS,
    ITEMS,
    OTHER_BLOCKS,
    SPEND_LINES,
    WEIGHT_TOLERANCE,
    FinanceRow,
    FinanceRuleError,
    fy_label,
)
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
        # The rows of each item, in order (a lookup scans one item's rows, not the whole book).
        self._by_name: dict[str, list[FinanceRow]] = {}
        for row in self.rows:
            self._by_name.setdefault(row.name, []).append(row)
        self._check()

    # ---- lookups ---------------------------------------------------------------------------
    def _of(self, name: str, **keys: str) -> list[FinanceRow]:
        return [r for r in self._by_name.get(name, ()) if all(getattr(r, k) == v for k, v in keys.items())]

    def _error(self, rule: str, rows: list[FinanceRow] | None = None, column: str | None = None
               ) -> FinanceRuleError:
        if rows:
            return FinanceRuleError(rows[0].file, rule, row=rows[0].line_number, column=column)
        return FinanceRuleError(", ".join(self.files), rule)

    def has(self, name: str, **keys: str) -> bool:
        """Whether the book has a row of item ``name`` (with those keys)."""
        return bool(self._of(name, **keys))

    def scalar(self, name: str, default: float | None = None, **keys: str) -> float:
        """The value of an undated item (required unless a default is given)."""
        found = self._of(name, **keys)
        if not found:
            if default is not None:
                return default
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
            if row.year <= fy and (best is None or row.year > best.year):
                best = row
        if best is not None:
            return best.value
        if default is not None:
            return default
        what = ", ".join(f"{k}={v}" for k, v in keys.items())
        raise self._error(f"finance item {name}{' (' + what + ')' if what else ''} has no row in force in "
                          f"{fy_label(fy)}: add one dated {fy_label(fy)} or earlier")

    def in_force_or_none(self, name: str, fy: int, **keys: str) -> float | None:
        """As :meth:`in_force`, with None where no row is in force."""
        rows = [r for r in self._of(name, **keys) if r.year <= fy]
        return max(rows, key=lambda r: r.year).value if rows else None

    def years(self, name: str) -> list[int]:
        """The financial years of the rows of a dated item, in order."""
        return sorted({r.year for r in self._of(name)})

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
        for row in self._of("placement_cost_weight") + self._of("pay_award_funded_share"):
            kind = row.cost_type
            if not self._of("cost_growth", cost_type=kind) and not self._of("pay_award", cost_type=kind):
                raise self._error(f"cost type {kind} has neither cost_growth nor pay_award rows", [row], "cost_type")
        for row in self._of("cost_growth"):
            if self._of("pay_award", cost_type=row.cost_type):
                raise self._error(f"cost type {row.cost_type} grows by pay_award rows: give its growth as pay_award "
                                  "rows (one per financial year), not cost_growth", [row], "name")
        for row in self._of("pay_award"):
            if not self._of("award_month", cost_type=row.cost_type):
                raise self._error(f"cost type {row.cost_type} has pay_award rows but no award_month row", [row],
                                  "cost_type")
        for row in self._of("early_years_block_share") + self._of("spend_line_factor"):
            if not self._of("spend_line", line=row.line):
                raise self._error(f"{row.name} names line {row.line}, which has no spend_line rows", [row], "line")
        for line in SPEND_LINES:
            placements = {r.placement for r in self._of("spend_line", line=line)}
            if len(placements) > 1:
                raise self._error(f"spend_line rows of {line} name different placements "
                                  f"({', '.join(sorted(placements))}): a line's price follows one placement",
                                  self._of("spend_line", line=line), "placement")
        if not self._of("sv_profile"):
            raise self._error("the Safety Valve profile (sv_profile rows) is required")
        profile_years = self.years("sv_profile")
        if profile_years != list(range(profile_years[0], profile_years[-1] + 1)):
            raise self._error("sv_profile rows must cover consecutive financial years", self._of("sv_profile"),
                              "financial_year")
        for name in ("council_contribution", "dfe_instalment"):
            for row in self._of(name):
                if row.financial_year not in profile_years:
                    raise self._error(f"{name} in {fy_label(row.year)} is outside the agreement "
                                      f"({fy_label(profile_years[0])} to {fy_label(profile_years[-1])})", [row],
                                      "financial_year")
        for row in self._of("hnb_growth_low") + self._of("hnb_growth_high"):
            fy = row.year
            low = self.in_force("hnb_growth_low", fy, default=-1.0)
            high = self.in_force("hnb_growth_high", fy, default=1.0)
            mode = self.in_force("hnb_growth", fy, default=float("nan"))
            if not low <= mode <= high:
                raise self._error(f"in {fy_label(fy)} the allocation's growth needs hnb_growth_low <= hnb_growth <= "
                                  f"hnb_growth_high (a triangular distribution); got {low:g}, {mode:g}, {high:g}",
                                  [row], "value")

    # ---- cost types ------------------------------------------------------------------------------
    def _award_borne(self, cost_type: str, fy: int, placement: str | None) -> float:
        award = self.year_value("pay_award", fy, cost_type=cost_type)
        if award is None:
            raise self._error(f"cost type {cost_type} has no pay_award for {fy_label(fy)} (its growth in "
                              f"{fy_label(fy)} and {fy_label(fy + 1)} needs one)")
        funded = 0.0
        if placement is not None:
            funded = self.year_value("pay_award_funded_share", fy, placement=placement, cost_type=cost_type) or 0.0
        return award * (1.0 - funded)

    def cost_growth(self, cost_type: str, fy: int, placement: str | None = None) -> float:
        """Growth of a cost type in ``fy`` over ``fy - 1``.

        With ``pay_award`` rows: the rise of the average monthly pay level, each year's award
        taking effect in the cost type's ``award_month`` (a September award raises 7 of the 12
        months of its financial year and all 12 of the next). With ``placement``: the growth
        that placement's providers bear, each award less the share a separate national grant
        funds (``pay_award_funded_share``). Otherwise the ``cost_growth`` row in force.
        """
        if not self._of("pay_award", cost_type=cost_type):
            return self.in_force("cost_growth", fy, cost_type=cost_type)
        month = int(self.scalar("award_month", cost_type=cost_type))
        after = 16 - month if month >= 4 else 4 - month  # months of its own financial year an award covers
        before = 12 - after
        previous = self._award_borne(cost_type, fy - 1, placement)
        current = self._award_borne(cost_type, fy, placement)
        level_previous = (before + after * (1.0 + previous)) / 12.0
        level_current = (1.0 + previous) * (before + after * (1.0 + current)) / 12.0
        return level_current / level_previous - 1.0

    def cost_index(self, cost_type: str, base_fy: int, fy: int) -> float:
        """Level of a cost type in ``fy`` relative to ``base_fy`` (1 in the base year)."""
        index = 1.0
        for y in range(base_fy + 1, fy + 1):
            index *= 1.0 + self.cost_growth(cost_type, y)
        for y in range(fy + 1, base_fy + 1):
            index /= 1.0 + self.cost_growth(cost_type, y)
        return index

    # ---- prices of placements ---------------------------------------------------------------------
    def provider_cost_growth(self, placement: str, fy: int, borne: bool = False) -> float:
        """Growth of the cost of the placement's providers: the weighted growth of their cost
        types (``borne``: less what separate national grants fund)."""
        return sum(r.value * self.cost_growth(r.cost_type, fy, placement if borne else None)
                   for r in self._of("placement_cost_weight", placement=placement))

    def price_decided(self, placement: str, fy: int) -> float | None:
        """The authority's decided (or observed) price growth in ``fy``: a price_uplift row, or the
        annualised growth between two observed price levels spanning the year; None if neither."""
        uplift = self.year_value("price_uplift", fy, placement=placement)
        if uplift is not None:
            return uplift
        levels = sorted(self._of("price_level", placement=placement), key=lambda r: r.year)
        if len(levels) >= 2 and levels[0].year < fy <= levels[-1].year:
            first, last = levels[0], levels[-1]
            return (last.value / first.value) ** (1.0 / (last.year - first.year)) - 1.0
        return None

    def price_growth(self, placement: str, fy: int) -> float:
        """Growth of what the authority pays for the placement in ``fy`` (before any saving):
        the decided uplift where there is one; otherwise the price follows the providers' cost
        (the part not funded by separate grants), held to ``price_hold`` where one is in force."""
        decided = self.price_decided(placement, fy)
        if decided is not None:
            return decided
        growth = self.provider_cost_growth(placement, fy, borne=True)
        hold = self.in_force_or_none("price_hold", fy, placement=placement)
        return growth if hold is None else min(growth, hold)

    def price_saving(self, placement: str, fy: int) -> float:
        """The placement's price saving in ``fy`` (0 if none)."""
        return self.year_value("price_saving", fy, placement=placement) or 0.0

    def placement_index(self, base_fy: int, fy: int) -> np.ndarray:
        """Price level of each placement in ``fy`` relative to ``base_fy`` (1 there), savings included."""
        out = np.ones(codes.N_PLACEMENTS)
        for p, placement in enumerate(codes.PLACEMENTS):
            index = 1.0
            for y in range(base_fy + 1, fy + 1):
                index *= 1.0 + self.price_growth(placement, y)
            for y in range(fy + 1, base_fy + 1):
                index /= 1.0 + self.price_growth(placement, y)
            out[p] = index * (1.0 - self.price_saving(placement, fy)) / (1.0 - self.price_saving(placement, base_fy))
        return out

    def placement_growth(self, fy: int, base_fy: int | None = None) -> np.ndarray:
        """Growth of each placement's price in ``fy`` over ``fy - 1``."""
        base = fy - 1 if base_fy is None else base_fy
        return self.placement_index(base, fy) / self.placement_index(base, fy - 1) - 1.0

    # ---- spend lines --------------------------------------------------------------------------------
    def spend_line_row(self, line: str, fy: int) -> FinanceRow | None:
        """The spend line's row in force in ``fy``, or None."""
        rows = [r for r in self._of("spend_line", line=line) if r.year <= fy]
        return max(rows, key=lambda r: r.year) if rows else None

    def spend_line(self, line: str, fy: int) -> float:
        """Spend on a line in ``fy`` at flat volume: the spend_line row in force, at its year's
        prices, moved to ``fy`` by its placement's price index, times any spend_line_factor of
        ``fy``; 0 before the line's first row."""
        row = self.spend_line_row(line, fy)
        if row is None:
            return 0.0
        p = codes.PLACEMENTS.index(row.placement)
        factor = self.year_value("spend_line_factor", fy, line=line)
        price = self.placement_index(row.year, fy)[p]
        return row.value * price * (1.0 if factor is None else factor)

    def spend_line_volume_placement(self, line: str) -> str | None:
        """The placement whose plans drive the line's volume, or None (a fixed line)."""
        rows = self._of("spend_line_volume", line=line)
        return rows[-1].placement if rows and rows[-1].value > 0 else None

    # ---- income ----------------------------------------------------------------------------------------
    def schools_block(self, fy: int) -> float:
        """The Schools Block: fixed in each year with a decided transfer (transfer / its decided
        share); in other years moved from the nearest such year with schools_block_growth."""
        anchors = {r.year: r for r in self._of("schools_block_transfer")}
        if not anchors:
            raise self._error("finance item schools_block_transfer is required (it fixes the Schools Block)")

        def fixed(y: int) -> float:
            share = self.year_value("schools_block_transfer_decided_share", y)
            if share is None or share <= 0:
                raise self._error(f"the decided transfer of {fy_label(y)} needs a positive "
                                  "schools_block_transfer_decided_share of that year", [anchors[y]], "name")
            return anchors[y].value / share
        if fy in anchors:
            return fixed(fy)
        earlier = [y for y in anchors if y < fy]
        if earlier:
            a = max(earlier)
            block = fixed(a)
            for y in range(a + 1, fy + 1):
                block *= 1.0 + self.in_force("schools_block_growth", y)
            return block
        a = min(anchors)
        block = fixed(a)
        for y in range(fy + 1, a + 1):
            block /= 1.0 + self.in_force("schools_block_growth", y)
        return block

    def schools_block_transfer_gbp(self, fy: int) -> float:
        """The transfer from the Schools Block to high needs in ``fy`` (GBP)."""
        return self.in_force("schools_block_transfer_share", fy) * self.schools_block(fy)

    def hnb_anchor(self) -> tuple[int, float, bool]:
        """(year, allocation, gross?) of the latest published budget: the budget less the transfer it includes."""
        budgets = self._of("hnb_budget")
        if not budgets:
            raise self._error("finance item hnb_budget is required (it fixes the High Needs Block)")
        anchor = max(budgets, key=lambda r: r.year)
        a = anchor.year
        included = self.year_value("hnb_budget_transfer", a)
        if included is None:
            raise self._error(f"hnb_budget_transfer for {fy_label(a)} is required with the hnb_budget row",
                              [anchor], "name")
        return a, anchor.value - included, self.scalar("hnb_budget_is_gross") == 1.0

    def hnb_growth_is_drawn(self, fy: int) -> bool:
        """Whether the allocation's growth in ``fy`` is drawn (no published increase; a low and high in force)."""
        return (self.year_value("hnb_increase", fy) is None
                and self.in_force_or_none("hnb_growth_low", fy) is not None
                and self.in_force_or_none("hnb_growth_high", fy) is not None)

    def hnb_growth(self, fy: int, uniform: np.ndarray | float = 0.5) -> np.ndarray | float:
        """Growth of the gross allocation in a year without a published increase: the
        hnb_growth in force, or, where hnb_growth_low and hnb_growth_high are in force too, a
        triangular draw (low, mode, high) by inversion of ``uniform`` (one per run)."""
        mode = self.in_force("hnb_growth", fy)
        if not self.hnb_growth_is_drawn(fy):
            return mode
        low, high = self.in_force("hnb_growth_low", fy), self.in_force("hnb_growth_high", fy)
        u = np.asarray(uniform, dtype=float)
        if high <= low:
            return np.full(u.shape, mode) if u.ndim else mode
        split = (mode - low) / (high - low)
        below = low + np.sqrt(u * (high - low) * (mode - low))
        above = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
        return np.where(u < split, below, above)

    def hnb_gross(self, fy: int, anchor_gross: np.ndarray | float,
                  uniforms: dict[int, np.ndarray] | None = None) -> np.ndarray | float:
        """The gross allocation in ``fy`` from the anchor year's gross allocation: earlier years step
        back by each later year's published increase; later years add the published increase,
        or grow by :meth:`hnb_growth` (drawn per run where a distribution is in force)."""
        a, _, _ = self.hnb_anchor()
        allocation = anchor_gross
        for y in range(a + 1, fy + 1):
            increase = self.year_value("hnb_increase", y)
            if increase is not None:
                allocation = allocation + increase
            else:
                u = 0.5 if uniforms is None or y not in uniforms else uniforms[y]
                allocation = allocation * (1.0 + self.hnb_growth(y, u))
        for y in range(a, fy, -1):
            increase = self.year_value("hnb_increase", y)
            if increase is None:
                raise self._error(f"no hnb_increase for {fy_label(y)}: the allocation of {fy_label(y - 1)} cannot be "
                                  "derived from the hnb_budget year")
            allocation = allocation - increase
        return allocation

    def hnb_allocation(self, fy: int) -> float:
        """The gross allocation at the central growth, with no deductions known (a gross anchor)."""
        _, value, _ = self.hnb_anchor()
        return float(self.hnb_gross(fy, value))

    def deduction_per_plan(self, fy: int) -> np.ndarray:
        """[P] place funding deducted at source per plan of each placement: rate x share in
        directly funded providers."""
        return np.array([self.in_force("deduction_rate", fy, default=0.0, placement=p)
                         * self.in_force("deduction_share", fy, default=0.0, placement=p) for p in codes.PLACEMENTS])

    def pay_grants_rolled_in(self, fy: int) -> float:
        """Pay grants rolled into the allocation in ``fy`` (GBP; 0 if none)."""
        return self.in_force("pay_grants_rolled_in", fy, default=0.0)

    def early_years_block_share(self, line: str, fy: int) -> float:
        """The share of a spend line the Early Years Block contributes in ``fy`` (0 if none)."""
        return self.in_force("early_years_block_share", fy, default=0.0, line=line)

    def health_contribution_share(self, fy: int) -> np.ndarray:
        """[B, P] share of the spend on each age band and placement paid by the NHS."""
        out = np.zeros((len(AGE_BANDS), codes.N_PLACEMENTS))
        for row in self._of("health_contribution_share"):
            if row.financial_year == fy:
                out[AGE_BANDS.index(row.age_band), codes.PLACEMENTS.index(row.placement)] = row.value
        return out

    def ola_recharge(self, fy: int, average_plan_cost_gbp: np.ndarray | float) -> np.ndarray | float:
        """Recharges to other authorities for their looked-after children's plans: plans x the
        year's average cost of a plan x the share recovered."""
        return (self.in_force("ola_lac_plans", fy) * self.in_force("ola_recharge_share", fy)
                * np.asarray(average_plan_cost_gbp, dtype=float))

    def other_blocks(self, fy: int) -> dict[str, float]:
        """The other DSG blocks' in-year positions in ``fy`` (GBP; 0 where none)."""
        return {block: self.in_force("other_block_in_year", fy, default=0.0, line=block) for block in OTHER_BLOCKS}

    def sv_ehcp_estimates(self) -> dict[int, dict[str, float]]:
        """The agreement's EHCP estimates: year -> age band -> plans."""
        out: dict[int, dict[str, float]] = {}
        for row in self._of("sv_ehcp_estimate"):
            out.setdefault(row.year, {})[row.age_band] = row.value
        return out

    def override_end_year(self) -> int | None:
        """The financial year the statutory override ends in, or None."""
        years = self.years("statutory_override_ends")
        return years[-1] if years else None

    # ---- Safety Valve -------------------------------------------------------------------------------
    def agreement_years(self) -> list[int]:
        """The financial years of the agreement: those of the profile."""
        return self.years("sv_profile")

    def profile(self, fy: int) -> float | None:
        """The Safety Valve profile's accumulated deficit for ``fy``, or None."""
        return self.year_value("sv_profile", fy)

    def outturn(self, fy: int) -> float | None:
        """The accumulated deficit outturn at the end of ``fy``, or None."""
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
        fixed: dict[int, float | None] = {}
        for y in years:
            value = self.year_value("council_contribution", y)
            fixed[y] = value if value is not None else self.balancing_council_contribution(y)
        this_year = fixed[fy]
        if this_year is not None:
            return this_year
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
        if opening is None or closing is None or profile is None or variance is None:
            raise self._error(f"outturns for {fy_label(fy - 1)} and {fy_label(fy)} and the in-year high-needs "
                              f"deficit of {fy_label(fy)} are needed to reconcile {fy_label(fy)}")
        lines = [(f"accumulated deficit 31 March {fy}", opening),
                 ("in-year high-needs deficit, Safety Valve profile", profile),
                 ("in-year high-needs variance at outturn", variance)]
        lines += [(f"{block.replace('_', ' ')} in-year", value) for block, value in self.other_blocks(fy).items()]
        lines.append(("council's contribution (balancing item)", -self.council_contribution(fy)))
        lines.append((f"accumulated deficit 31 March {fy + 1}", closing))
        return lines

    def with_rows(self, extra: list[FinanceRow]) -> FinanceBook:
        """The book with ``extra`` rows layered on top (a scenario's ``[finance]`` rows)."""
        files = self.files + sorted({r.file for r in extra} - set(self.files))
        return FinanceBook(self.rows + extra, files)
