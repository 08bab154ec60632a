"""Rates observed directly: conjugate posteriors from counts (Beta, Dirichlet).

Each rate is a count of events out of a count of chances in one of the vendored files (or a
figure of the Safety Valve return with a stated effective count). With a Jeffreys prior,
Beta(1/2, 1/2) or Dirichlet(1/2, ...), the posterior is Beta(k + 1/2, n - k + 1/2) or
Dirichlet(counts + 1/2). A Dirichlet keeps the categories the data has (a first placement
never seen at an age, such as FE at four, stays impossible). Draw ``d`` of every rate is
drawn from one generator seeded by the calibration, so a set of draws is reproducible.

:func:`kent_direct_rates` lists Kent's rates with their sources; the calibration uses them as
the distribution from which each proposal's directly observed rates are drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendsim.inputs.kent import derive
from sendsim.simcore import codes

JEFFREYS = 0.5  # Beta(1/2, 1/2) and Dirichlet(1/2, ...) priors

# The Safety Valve return gives two decision rates as percentages for March 2024 without
# counts. Assumption: each describes one month's decisions, so its effective count is the
# monthly number of decisions of that kind (SEN2 2023 / 12): a month is the shortest span a
# monthly monitoring figure can describe, which makes the uncertainty the widest defensible.
SEED_RATE_EFFECTIVE_MONTHS = 1.0


@dataclass(frozen=True)
class BetaRate:
    """A probability with a Beta posterior from ``successes`` out of ``trials``."""

    id: str
    description: str
    successes: float
    trials: float
    source: str

    @property
    def mean(self) -> float:
        return (self.successes + JEFFREYS) / (self.trials + 2 * JEFFREYS)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.beta(self.successes + JEFFREYS, self.trials - self.successes + JEFFREYS, size=n)


@dataclass(frozen=True)
class DirichletMix:
    """A distribution over ``labels`` with a Dirichlet posterior from ``counts`` (categories
    with no count stay at zero)."""

    id: str
    description: str
    counts: np.ndarray
    labels: tuple[str, ...]
    source: str

    @property
    def mean(self) -> np.ndarray:
        alpha = np.where(self.counts > 0, self.counts + JEFFREYS, 0.0)
        return alpha / alpha.sum()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        support = self.counts > 0
        out = np.zeros((n, self.counts.shape[0]))
        out[:, support] = rng.dirichlet(self.counts[support] + JEFFREYS, size=n)
        return out


Rate = BetaRate | DirichletMix


def _requests_2023(column: str) -> float:
    return derive._requests_all_2023(column)


def kent_direct_rates() -> dict[str, Rate]:
    """Kent's directly observed rates, by id (see each ``source``)."""
    out: dict[str, Rate] = {}

    def add(rate: Rate) -> None:
        out[rate.id] = rate

    agreed, refused = _requests_2023("requests_decided_to_assess"), _requests_2023("requests_decided_not_to_assess")
    decisions_per_month = (agreed + refused) / 12.0 * SEED_RATE_EFFECTIVE_MONTHS
    share = derive.seed("yes_to_assess_2024_03") / 100.0
    add(BetaRate("p_assess", "decision to assess (March 2024 panels)", share * decisions_per_month,
                 decisions_per_month, "seed_targets.csv:yes_to_assess_2024_03; effective count: SEN2 2023 decisions "
                 "(sen2_2025release_requests.csv requests_decided_to_assess + requests_decided_not_to_assess) / 12"))
    issued, not_issued = (derive._assessments_all("2023", c) for c in ("assess_issued", "assess_not_issued"))
    completed_per_month = (issued + not_issued) / 12.0 * SEED_RATE_EFFECTIVE_MONTHS
    share = derive.seed("decline_to_issue_2024_03") / 100.0
    add(BetaRate("p_decline", "decline to issue after assessment (March 2024)", share * completed_per_month,
                 completed_per_month, "seed_targets.csv:decline_to_issue_2024_03; effective count: SEN2 2023 "
                 "assessments completed (sen2_2025release_assessments.csv assess_issued + assess_not_issued) / 12"))
    tribunal = _requests_2023("tribunal_related_request")
    add(BetaRate("p_appeal_refusal", "appeal against a refusal to assess", tribunal, refused,
                 "sen2_2025release_requests.csv: tribunal_related_request / requests_decided_not_to_assess, Kent "
                 "2023"))
    tribunal_assess = derive._assessments_all("2023", "number_assess_tribunal")
    add(BetaRate("assessment_appeals_per_decline", "assessment appeals per decision not to issue (before the share "
                 "about refusals to issue)", tribunal_assess, not_issued,
                 "sen2_2025release_assessments.csv: number_assess_tribunal / assess_not_issued, Kent 2023; "
                 f"p_appeal_decline = this x DECLINE_SHARE_OF_ASSESSMENT_APPEALS "
                 f"({derive.DECLINE_SHARE_OF_ASSESSMENT_APPEALS:g}, assumption in inputs/kent/derive.py)"))
    mi = derive.mi_rates()
    add(BetaRate("escalation_mi", "mainstream to special school transfers a year (all ages)", mi["moves_ms"],
                 mi["stock_m"], "sen2_2022release_mi.csv: MtosiEHC, Kent 2019-2021, over sen2_2025release_caseload.csv "
                 "mainstream_total in January 2019-2021 (prior centre of the fitted escalation)"))
    add(BetaRate("reintegration", "special to mainstream school transfers a year", mi["moves_sm"], mi["stock_s"],
                 "sen2_2022release_mi.csv: SitomEHC, Kent 2019-2021, over sen2_2025release_caseload.csv special_total "
                 "in January 2019-2021"))
    for (low, high), rate, moved, stock in derive.moved_away_rates():
        add(BetaRate(f"moved_away_{low}_{high}", f"moving to another authority a year, ages {low}-{high}", moved,
                     stock + moved, "sen2_2025release_ceased_plans.csv: transfer + moved_outside_eng by age, Kent "
                     "2023, over the January 2024 plans at those ages + those moved"))
    for (low, high), n_cease, exposure, reasons in derive.review_cease_counts():
        add(BetaRate(f"review_cease_{low}_{high}", f"plans ceased at review a year in 2023, ages {low}-{high}",
                     n_cease, exposure, "sen2_2025release_ceased_plans.csv: 'Age plan ceased' x review reasons, Kent "
                     "2023, over the January 2024 plans + those ceased (prior centre of the fitted ceasing)"))
        add(DirichletMix(f"cease_reason_{low}_{high}", f"reason recorded when a plan ceases, ages {low}-{high}",
                         reasons, codes.CEASE_REASONS, "sen2_2025release_ceased_plans.csv: reasons by age, Kent 2023 "
                         "(pooled with neighbouring ages where fewer than 30)"))
    for (low, high), counts, note in derive.first_placement_counts():
        add(DirichletMix(f"first_placement_{low}_{high}", f"placement named in a new plan, ages {low}-{high}",
                         counts, codes.PLACEMENTS, f"sen2_2025release_newplans.csv: {note}"))
    offered = derive.seed("pt_post16_offered_2024_04")
    share_offers = derive.seed("pt_post16_offer_mainstream_fe_share") / 100.0
    unplaced = {name: derive.seed(f"pt_post16_unplaced_est_{name}") for name in
                ("mainstream", "fe", "independent", "special")}
    mainstream_fe = share_offers * offered + unplaced["mainstream"] + unplaced["fe"]
    total = offered + sum(unplaced.values())
    add(BetaRate("post16_mainstream_fe", "post-16 phase transfers to mainstream or FE (among mainstream, FE, special "
                 "and independent destinations)", mainstream_fe, total,
                 "seed_targets.csv: pt_post16_offered_2024_04 x pt_post16_offer_mainstream_fe_share, plus "
                 "pt_post16_unplaced_est_mainstream + _fe, over the offers plus every pt_post16_unplaced_est_* "
                 "(the authority's estimate of where the unplaced go)"))
    return out


def summary_rows(rates: dict[str, Rate], draws: dict[str, np.ndarray]) -> list[dict]:
    """Median and 90% interval of each Beta rate (and each Dirichlet category) for reports."""
    rows = []
    for key, rate in rates.items():
        values = draws[key]
        if isinstance(rate, BetaRate):
            q = np.quantile(values, [0.05, 0.5, 0.95])
            rows.append({"id": key, "description": rate.description, "data": f"{rate.successes:,.1f} of "
                         f"{rate.trials:,.1f}", "p05": q[0], "median": q[1], "p95": q[2], "source": rate.source})
        else:
            for j, label in enumerate(rate.labels):
                if rate.counts[j] <= 0:
                    continue
                q = np.quantile(values[:, j], [0.05, 0.5, 0.95])
                rows.append({"id": f"{key}:{label}", "description": rate.description, "data":
                             f"{rate.counts[j]:,.0f} of {rate.counts.sum():,.0f}", "p05": q[0], "median": q[1],
                             "p95": q[2], "source": rate.source})
    return rows
