"""Rates observed directly: conjugate posteriors from counts (Beta, Dirichlet).

Each rate is a count of events out of a count of chances in one of the vendored files (or a
figure of the Safety Valve return with a stated effective count). With a Jeffreys prior,
Beta(1/2, 1/2) or Dirichlet(1/2, ...), the posterior is Beta(k + 1/2, n - k + 1/2) or
Dirichlet(counts + 1/2). A Dirichlet keeps the categories the data has (a first placement
never seen at an age, such as FE at four, stays impossible). Draw ``d`` of every rate is
drawn from one generator seeded by the calibration, so a set of draws is reproducible.

:func:`direct_rates` lists an authority's rates with their sources; the calibration uses them as
the distribution from which each proposal's directly observed rates are drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendsim.inputs.derivation import Derivation
from sendsim.inputs.sen2.files import ASSESSMENTS, CASELOAD, CEASED, MI_2022, NEWPLANS, REQUESTS
from sendsim.simcore import codes

JEFFREYS = 0.5  # Beta(1/2, 1/2) and Dirichlet(1/2, ...) priors

# The Safety Valve return gives two decision rates as percentages for March 2024 without
# counts. Assumption: each describes one month's decisions, so its effective count is the
# monthly number of decisions of that kind (SEN2 2023 / 12): a month is the shortest span a
# monthly monitoring figure can describe, which makes the uncertainty the widest defensible.
SEED_RATE_EFFECTIVE_MONTHS = 1.0
# The post-16 phase transfer's destinations counted as mainstream or FE, and as specialist, in the
# share post16_mainstream_fe (alternative and no place are in neither): without local post-16
# offers, the share of the census placements at the transfer age; the model rescales the
# transfer to the drawn share.
MAINSTREAM_FE_DESTINATIONS = ("mainstream", "srp", "fe")
SPECIALIST_DESTINATIONS = ("special", "independent", "post16_specialist")


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


def direct_rates(d: Derivation) -> dict[str, Rate]:
    """The directly observed rates of the authority of ``d``, by id (see each ``source``).

    The decision rates and the post-16 transfer share come from the local figures where the
    authority has them (Kent: its Safety Valve return); otherwise from SEN2 alone: the activity
    year's decisions and assessments, and the census's placements at the age after the post-16
    transfer.
    """
    out: dict[str, Rate] = {}
    name, year = d.name, d.activity_year
    requests = d.authority.request_count
    assessments = d.authority.assessment_count

    def add(rate: Rate) -> None:
        out[rate.id] = rate

    agreed, refused = requests(year, "requests_decided_to_assess"), requests(year, "requests_decided_not_to_assess")
    issued, not_issued = (assessments(year, c) for c in ("assess_issued", "assess_not_issued"))
    if d.local is not None:
        local = d.local
        decisions_per_month = (agreed + refused) / 12.0 * SEED_RATE_EFFECTIVE_MONTHS
        share = local.value("yes_to_assess_2024_03") / 100.0
        add(BetaRate("p_assess", "decision to assess (March 2024 panels)", share * decisions_per_month,
                     decisions_per_month, f"{local.name}:yes_to_assess_2024_03; effective count: SEN2 {year} decisions "
                     f"({REQUESTS} requests_decided_to_assess + requests_decided_not_to_assess) / 12"))
        completed_per_month = (issued + not_issued) / 12.0 * SEED_RATE_EFFECTIVE_MONTHS
        share = local.value("decline_to_issue_2024_03") / 100.0
        add(BetaRate("p_decline", "decline to issue after assessment (March 2024)", share * completed_per_month,
                     completed_per_month, f"{local.name}:decline_to_issue_2024_03; effective count: SEN2 {year} "
                     f"assessments completed ({ASSESSMENTS} assess_issued + assess_not_issued) / 12"))
    else:
        add(BetaRate("p_assess", f"decision to assess ({year})", agreed, agreed + refused,
                     f"{REQUESTS}: requests_decided_to_assess / (requests_decided_to_assess + "
                     f"requests_decided_not_to_assess), {name} {year}"))
        add(BetaRate("p_decline", f"decline to issue after assessment ({year})", not_issued, issued + not_issued,
                     f"{ASSESSMENTS}: assess_not_issued / (assess_issued + assess_not_issued), {name} {year}"))
    tribunal = requests(year, "tribunal_related_request")
    add(BetaRate("p_appeal_refusal", "appeal against a refusal to assess", tribunal, refused,
                 f"{REQUESTS}: tribunal_related_request / requests_decided_not_to_assess, {name} {year}"))
    tribunal_assess = assessments(year, "number_assess_tribunal")
    add(BetaRate("assessment_appeals_per_decline", "assessment appeals per decision not to issue (before the share "
                 "about refusals to issue)", tribunal_assess, not_issued,
                 f"{ASSESSMENTS}: number_assess_tribunal / assess_not_issued, {name} {year}; "
                 f"p_appeal_decline = this x DECLINE_SHARE_OF_ASSESSMENT_APPEALS "
                 f"({d.assumptions.DECLINE_SHARE_OF_ASSESSMENT_APPEALS:g}, assumption in inputs/kent/assumptions.py)"))
    mi = d.mi_rates()
    mi_name = d.mi_authority().name
    mi_years = f"{d.assumptions.MI_YEARS[0]}-{d.assumptions.MI_YEARS[-1]}"
    add(BetaRate("escalation_mi", "mainstream to special school transfers a year (all ages)", mi["moves_ms"],
                 mi["stock_m"], f"{MI_2022}: MtosiEHC, {mi_name} {mi_years}, over {CASELOAD} "
                 f"mainstream_total in January {mi_years} (prior centre of the fitted escalation)"))
    add(BetaRate("reintegration", "special to mainstream school transfers a year", mi["moves_sm"], mi["stock_s"],
                 f"{MI_2022}: SitomEHC, {mi_name} {mi_years}, over {CASELOAD} special_total "
                 f"in January {mi_years}"))
    for (low, high), _rate, moved, stock in d.moved_away_rates():
        add(BetaRate(f"moved_away_{low}_{high}", f"moving to another authority a year, ages {low}-{high}", moved,
                     stock + moved, f"{CEASED}: transfer + moved_outside_eng by age, {name} "
                     f"{year}, over the January {d.census_year} plans at those ages + those moved"))
    for (low, high), n_cease, exposure, reasons in d.review_cease_counts():
        add(BetaRate(f"review_cease_{low}_{high}", f"plans ceased at review a year in {year}, ages {low}-{high}",
                     n_cease, exposure, f"{CEASED}: 'Age plan ceased' x review reasons, {name} "
                     f"{year}, over the January {d.census_year} plans + those ceased (prior centre of the fitted "
                     "ceasing)"))
        add(DirichletMix(f"cease_reason_{low}_{high}", f"reason recorded when a plan ceases, ages {low}-{high}",
                         reasons, codes.CEASE_REASONS, f"{CEASED}: reasons by age, {name} {year} "
                         f"(pooled with neighbouring ages where fewer than {d.assumptions.MIN_POOL_COUNT})"))
    for (low, high), counts, note in d.first_placement_counts():
        add(DirichletMix(f"first_placement_{low}_{high}", f"placement named in a new plan, ages {low}-{high}",
                         counts, codes.PLACEMENTS, f"{NEWPLANS}: {note}"))
    add(_post16_mainstream_fe(d))
    return out


def _post16_mainstream_fe(d: Derivation) -> BetaRate:
    """Post-16 phase transfers to mainstream or FE among mainstream, FE, special and independent
    destinations: the local offers (Kent: the return's April 2024 offers and its estimate for
    the unplaced), or the census placements at the age after the transfer."""
    description = ("post-16 phase transfers to mainstream or FE (among mainstream, FE, special and independent "
                   "destinations)")
    if d.local is not None:
        local = d.local
        offered = local.value("pt_post16_offered_2024_04")
        share_offers = local.value("pt_post16_offer_mainstream_fe_share") / 100.0
        unplaced = {name: local.value(f"pt_post16_unplaced_est_{name}") for name in
                    ("mainstream", "fe", "independent", "special")}
        mainstream_fe = share_offers * offered + unplaced["mainstream"] + unplaced["fe"]
        total = offered + sum(unplaced.values())
        return BetaRate("post16_mainstream_fe", description, mainstream_fe, total,
                        f"{local.name}: pt_post16_offered_2024_04 x pt_post16_offer_mainstream_fe_share, plus "
                        "pt_post16_unplaced_est_mainstream + _fe, over the offers plus every pt_post16_unplaced_est_* "
                        "(the authority's estimate of where the unplaced go)")
    age = codes.TRANSFER_AGES[codes.TRANSFERS.index("post16")]
    at_age = d.crosstab()[age]
    mainstream_fe = float(sum(at_age[codes.PLACEMENTS.index(p)] for p in MAINSTREAM_FE_DESTINATIONS))
    specialist = float(sum(at_age[codes.PLACEMENTS.index(p)] for p in SPECIALIST_DESTINATIONS))
    return BetaRate("post16_mainstream_fe", description, mainstream_fe, mainstream_fe + specialist,
                    f"{CASELOAD}: plans at academic age {age}, {d.name} January {d.census_year}, in "
                    f"{' + '.join(MAINSTREAM_FE_DESTINATIONS)} over those and "
                    f"{' + '.join(SPECIALIST_DESTINATIONS)} (no local figures of post-16 offers)")


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
