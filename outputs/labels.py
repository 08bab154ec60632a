"""Readable names for the codes of the tables (``post16_specialist`` is "Specialist post-16"),
used by the report's charts, page and workbook. The tables keep the codes: they are stable
identifiers for programs; these labels are for people.

:func:`label` finds a code in every map below; a code no map knows (a finance line added
later, say) is shown with its underscores as spaces rather than refused.
"""
from __future__ import annotations

PLACEMENT_LABELS: dict[str, str] = {
    "early_years": "Early years setting",
    "mainstream": "Mainstream school",
    "srp": "Resourced provision / SEN unit",
    "special": "Maintained special school",
    "independent": "Independent special school",
    "fe": "FE college",
    "post16_specialist": "Specialist post-16",
    "alternative": "Alternative provision / EOTAS",
    "no_place": "No place (NEET, awaiting provision)",
}
AGE_BAND_LABELS: dict[str, str] = {"under_5": "Under 5", "5_10": "Age 5-10", "11_15": "Age 11-15",
                                   "16_19": "Age 16-19", "20_25": "Age 20-25", "total": "All ages"}
NEED_LABELS: dict[str, str] = {
    "asd": "Autistic spectrum disorder", "semh": "Social, emotional and mental health",
    "slcn": "Speech, language and communication", "mld": "Moderate learning difficulty",
    "sld": "Severe learning difficulty", "pmld": "Profound and multiple learning difficulty",
    "spld": "Specific learning difficulty", "hi": "Hearing impairment", "vi": "Visual impairment",
    "msi": "Multi-sensory impairment", "pd": "Physical disability", "other": "Other need",
}
LINE_LABELS: dict[str, str] = {
    **{f"plans_{code}": f"Plans: {name}" for code, name in PLACEMENT_LABELS.items()},
    "central_sen_services": "Central SEN services",
    "sen_outreach": "SEN outreach",
    "hospital_education": "Hospital education",
    "alternative_provision": "Alternative provision (no plan)",
    "early_years_inclusion": "Early years inclusion fund",
    "high_needs_block": "High Needs Block",
    "schools_block_transfer": "Schools Block transfer",
    "early_years_block_contribution": "Early Years Block contribution",
    "ola_recharges": "Recharges to other authorities",
    "schools_block": "Schools Block (in-year)",
    "central_school_services_block": "Central School Services Block (in-year)",
    "early_years_block": "Early Years Block (in-year)",
    "council_contribution": "Council contribution",
    "dfe_instalment": "DfE Safety Valve instalment",
}
KIND_LABELS: dict[str, str] = {"spend": "Spend", "income": "Income", "other_blocks": "Other DSG blocks",
                               "contribution": "Safety Valve contributions"}
# summary.parquet metrics: the deficit table's columns and the shares of runs.
METRIC_LABELS: dict[str, str] = {
    "spend_gbp": "High-needs spend",
    "income_gbp": "High-needs income",
    "in_year_deficit_gbp": "In-year high-needs deficit",
    "dsg_in_year_deficit_gbp": "In-year DSG deficit",
    "accumulated_deficit_gbp": "Accumulated DSG deficit (profile basis)",
    "accumulated_deficit_after_contributions_gbp": "Accumulated deficit after DfE instalments",
    "sv_target_gbp": "Safety Valve profile",
    "variance_gbp": "Accumulated deficit minus profile",
    "meets_target": "Meets the profile",
    "rag_green": "RAG green",
    "rag_amber": "RAG amber",
    "rag_red": "RAG red",
    "deficit_cleared": "Deficit cleared",
    "delta_spend_gbp": "Change in high-needs spend",
    "delta_in_year_deficit_gbp": "Change in in-year deficit",
    "delta_accumulated_deficit_gbp": "Change in accumulated deficit",
}
# Metrics that are shares of runs (0/1 per run): shown as percentages, not money.
SHARE_METRICS: frozenset[str] = frozenset({"meets_target", "rag_green", "rag_amber", "rag_red", "deficit_cleared"})
MEASURE_LABELS: dict[str, str] = {
    "requests_pending": "Requests awaiting a decision", "assessments_open": "Assessments open",
    "appeals_open": "Appeals open", "reviews_due": "Reviews due", "reviews_done": "Reviews done",
    "reviews_overdue": "Reviews overdue", "waiting_for_place": "Waiting for a place",
    "srp_occupied": "Resourced provision places filled", "srp_capacity": "Resourced provision places",
    "special_occupied": "Special school places filled", "special_capacity": "Special school places",
    "srp_other_la": "Resourced provision places in other authorities",
    "special_other_la": "Special school places in other authorities",
}
# The components of the year-on-year bridge of the in-year deficit (outputs/bridge.py).
BRIDGE_LABELS: dict[str, str] = {
    "demand": "Demand (more or fewer plans)",
    "prices": "Prices (inflation of placement costs)",
    "mix": "Placement mix and unit costs",
    "other_lines": "Other high-needs lines",
    "income": "Income (more income lowers the deficit)",
    "mitigations": "Mitigations (scenario against the baseline)",
}

_ALL: dict[str, str] = {**NEED_LABELS, **AGE_BAND_LABELS, **PLACEMENT_LABELS, **LINE_LABELS, **KIND_LABELS,
                        **METRIC_LABELS, **MEASURE_LABELS, **BRIDGE_LABELS}


def label(code: str) -> str:
    """The readable name of a code of any table; a finance metric ``<kind>:<line>`` by its line."""
    code = str(code)
    if code in _ALL:
        return _ALL[code]
    if ":" in code:
        kind, line = code.split(":", 1)
        if line in LINE_LABELS or kind in KIND_LABELS:
            return f"{KIND_LABELS.get(kind, kind)}: {LINE_LABELS.get(line, line.replace('_', ' '))}"
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:]

