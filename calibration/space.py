"""The rates fitted by simulation (seen only through stocks): their ranges and meaning.

Each fitted parameter is a scalar with a range (the history-matching prior: uniform on its
scale, ``log`` for multipliers) and says where it acts: in the forecast (from the January
2024 cohort, and so in the shipped draws), in the hindcast (from an earlier January to
January 2024) or both. Multipliers scale a rate whose centre is observed directly (the 2023
ceasing rates, the 2019-2021 escalation rate, the January 2024 capacities).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FittedParameter:
    """One scalar fitted by simulation."""

    name: str
    description: str
    low: float
    high: float
    scale: str      # "log" (uniform in log) or "linear"
    acts_in: str    # "both", "forecast" or "hindcast"
    why_range: str

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1] to the parameter's range (uniform on its scale)."""
        u = np.asarray(u, dtype=float)
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def to_unit(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=float)
        if self.scale == "log":
            return (np.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


_MULTIPLIER_RANGE = ("from a quarter to eight times the 2023 rate per plan-year: with reviews in arrears (64% "
                     "overdue in March 2023) a review is rarer than yearly, so the chance it ceases a plan is higher")
SPACE: tuple[FittedParameter, ...] = (
    FittedParameter("cease_0_10", "multiplier of the 2023 probability that a review ceases a plan, ages 0-10",
                    0.25, 8.0, "log", "both", _MULTIPLIER_RANGE),
    FittedParameter("cease_11_15", "multiplier of the 2023 probability that a review ceases a plan, ages 11-15",
                    0.25, 8.0, "log", "both", _MULTIPLIER_RANGE),
    FittedParameter("cease_16_17", "multiplier of the 2023 probability that a review ceases a plan, ages 16-17",
                    0.25, 8.0, "log", "both", _MULTIPLIER_RANGE),
    FittedParameter("cease_18_19", "multiplier of the 2023 probability that a review ceases a plan, ages 18-19",
                    0.25, 8.0, "log", "both", _MULTIPLIER_RANGE),
    FittedParameter("cease_20_25", "multiplier of the 2023 probability that a review ceases a plan, ages 20-25",
                    0.25, 8.0, "log", "both", _MULTIPLIER_RANGE),
    FittedParameter("cease_16_19_no_place", "ratio of the probability that a review ceases the plan of a young "
                    "person aged 16-19 with no place (not in education, employment or training) to that of the "
                    "others of the same age", 1.0, 30.0, "log", "both",
                    "SEN2 counts ceased plans by age and reason, not by placement; 'no longer engaging' is the "
                    "reason for 52% of the plans ceased for review reasons at 16-17 and 41% at 18-19 (Kent 2023): "
                    "from no difference to thirty times"),
    FittedParameter("escalation", "multiplier of the 2019-2021 escalation rate (mainstream to SRP, special or "
                    "independent, and SRP to special or independent; school ages)", 0.25, 8.0, "log", "both",
                    "from a quarter to eight times the 2019-2021 rate of transfers to special schools (SEN2 MI "
                    "counts transfers to special schools only, not to units or via phase transfers)"),
    FittedParameter("escalation_secondary", "multiplier of the escalation rate at secondary ages (11-15), on top "
                    "of the escalation multiplier", 0.5, 4.0, "log", "both",
                    "SEN2 MI counts transfers to special schools at all school ages together; in January 2024, 1,137 "
                    "of Kent's 1,647 independent placements were at ages 11-15: from half to four times the rate "
                    "at primary ages"),
    FittedParameter("srp_entry", "multiplier of the mainstream to SRP rate (school ages; the default, 1% a year, "
                    "is an assumption: SEN2 counts no moves into units)", 0.25, 8.0, "log", "both",
                    "from a quarter to eight times the assumed 1% a year"),
    FittedParameter("overflow_independent", "probability that a child who finds no free special school place "
                    "goes to an independent school rather than waiting", 0.1, 0.9, "linear", "both",
                    "the default, one half, is an assumption; Kent's independent placements grew by half from "
                    "January 2019 to January 2024 while maintained special schools were full"),
    FittedParameter("arrivals", "arrivals of plans from other authorities at ages 0-10, relative to the 2023 "
                    "transfers out at those ages", 0.0, 3.0, "linear", "both", "no inflow data: from none to three "
                    "times the outflow (Kent is a net importer of looked-after children)"),
    FittedParameter("arrivals_11_15", "arrivals of plans from other authorities at ages 11-15, relative to the "
                    "2023 transfers out at those ages", 0.0, 3.0, "linear", "both", "no inflow data; the age profile "
                    "of arrivals copies that of the 2023 transfers out, which need not hold for families moving in "
                    "with children of secondary age: from none to three times the outflow"),
    FittedParameter("arrivals_16_25", "arrivals of plans from other authorities at ages 16-25, relative to the "
                    "2023 transfers out at those ages", 0.0, 3.0, "linear", "both", "no inflow data; the school-age "
                    "net import (looked-after children placed in Kent, families moving in) need not hold for young "
                    "people, who also move for college and work: from none to three times the outflow"),
    FittedParameter("request_growth", "annual growth of requests for assessment from January 2024",
                    -0.05, 0.20, "linear", "forecast", "2019-2023 requests grew 7.2% a year (log-linear), with "
                    "a fall in 2022; from a fall of 5% to a rise of 20% a year"),
    FittedParameter("assessment_capacity", "multiplier of the assessments completed a month from February to "
                    "April 2024", 0.5, 2.0, "log", "forecast", "the default is derived from two approximate "
                    "open-case counts; a factor of two either way"),
    FittedParameter("review_capacity", "multiplier of the annual reviews held a month from January 2024",
                    0.5, 2.0, "log", "forecast", "the default is derived from the overdue counts; a factor of two "
                    "either way"),
    FittedParameter("cease_20_25_before_2023", "multiplier of the ages 20-25 ceasing before January 2023, "
                    "relative to the fitted rate from 2023 (the backlog team ceased post-19 plans in bulk in 2023)",
                    0.1, 2.0, "log", "hindcast", "from a tenth of the 2023 rate (almost no post-19 ceasing before "
                    "the backlog team) to twice it"),
    FittedParameter("young_requests", "weight of requests at ages 0-4 in the age mix of requests, relative to "
                    "SEN2 2023 (the total is kept)", 0.5, 3.0, "log", "both", "SEN2 2023 puts 16% of requests at "
                    "age 3; the seed says 25% of new requests in Q1 2024 were Nursery 2; ages at request and at "
                    "plan start are recorded differently"),
    FittedParameter("transfer_requests", "weight of requests at academic ages 9-11 (Years 5-7, around the "
                    "transfer to secondary school) in the age mix of requests, relative to SEN2 2023 (the total is "
                    "kept)", 0.5, 3.0, "log", "both", "the age mix of requests is SEN2 2023's alone; Kent's new plans "
                    "at 10-11 were 491 in 2022 against 371 in 2023 (SEN2 new plans by age when the plan started), "
                    "so one year's mix is uncertain around the transfer: from half to three times"),
    FittedParameter("nursery_requests_first_half", "share of the year's requests at academic ages 0-3 received "
                    "from January to June", 0.2, 0.95, "linear", "both",
                    "SEN2 counts requests by year only; the seed: 25% of the new requests in Q1 2024 were for Nursery "
                    "2 children against 16% of 2023's at age 3, and only 16 of Kent's 2023 new plans started at age 3 "
                    "against 384 at 4: from mostly July-December to nearly all January-June"),
    FittedParameter("request_age_shift", "share of the requests at each SEN2 age moved one academic age down "
                    "(positive) or up (negative): SEN2 counts requests by age at the request, the engine by "
                    "academic age (age on 31 August)", -0.6, 0.6, "linear", "both",
                    "one half down if the ages were on the day and requests spread evenly over the year (the "
                    "default in inputs/kent/parameters.csv); but Kent's 2023 new plans at each age a + 1 match the "
                    "assessments issued at age a (384 plans at 4 against 392 assessments issued at 3; 104-146 "
                    "against 115-142 at 6-9), which ages on the day at both ends cannot give: from 0.6 up to 0.6 "
                    "down"),
    FittedParameter("assessment_min_months", "months from the decision to assess before an assessment can be "
                    "completed (whole months)", 2.0, 9.0, "linear", "both", "the statutory 14 weeks is 3 months; "
                    "SEN2 2023: only 18% of Kent's plans within 20 weeks, 70% within a year"),
    FittedParameter("young_assessment_priority", "months of priority given to assessments of children aged 0-4 "
                    "when the month's completions are chosen (longest wait first)", 0.0, 24.0, "linear", "both",
                    "from first come, first served to two years ahead; SEN2 2023 timeliness by age: 0.5% of plans "
                    "at age 3 and 3.2% at age 4 took over a year, against 9-31% at ages 5-15"),
    FittedParameter("post16_mainstream_fe_before_2024", "share of post-16 phase transfers (at the end of Year "
                    "11) going to mainstream or FE rather than special, independent or specialist post-16 "
                    "settings, in the Septembers before 2024", 0.3, 0.75, "linear", "hindcast",
                    "the seed's 2024 offers give 65% (with the authority's estimate for those still unplaced); "
                    "SEN2 January 2024 has 45% at age 16 and the seed 43% of all post-16s in October 2023"),
    FittedParameter("backlog_team_reviews", "extra annual reviews a month in 2023 (the backlog team), as a share "
                    "of the plans in January 2023 / 12", 0.0, 1.0, "linear", "hindcast",
                    "from none to twice the usual reviews; the seed: the overdue count fell by 2,734 in the year to "
                    "March 2024 and the 20-25 band by 687 in the two years to January 2024"),
    FittedParameter("history_review_capacity", "annual reviews held a month before 2024, as a share of the "
                    "plans in January of that year / 12", 0.25, 1.0, "linear", "hindcast",
                    "from a quarter of the reviews falling due to all of them (the seed: 12,136 overdue in "
                    "March 2023, 9,402 in March 2024)"),
)
NAMES = tuple(p.name for p in SPACE)


def from_unit(u: np.ndarray) -> np.ndarray:
    """Points of the unit cube [n, k] to parameter values [n, k]."""
    u = np.atleast_2d(u)
    return np.column_stack([p.from_unit(u[:, j]) for j, p in enumerate(SPACE)])


def to_unit(values: np.ndarray) -> np.ndarray:
    values = np.atleast_2d(values)
    return np.column_stack([p.to_unit(values[:, j]) for j, p in enumerate(SPACE)])
