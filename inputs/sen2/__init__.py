"""The SEN2 library: the Department for Education's "Education, health and care plans"
statistics, vendored in ``inputs/data/``, read for any English local authority.

* :mod:`~sendsim.inputs.sen2.files`: where each vendored file is, reading one (gzipped or not),
  the publisher's symbols for values that are not counts;
* :mod:`~sendsim.inputs.sen2.mapping`: SEN2 columns -> the engine's placements and cease reasons;
* :mod:`~sendsim.inputs.sen2.ages`: SEN2 age labels -> single academic ages (spreading grouped
  labels, moving event ages to academic ages, whole-number splits);
* :mod:`~sendsim.inputs.sen2.authority`: :class:`Authority`, one authority's (or England's)
  series: caseload by January, placement and age; requests; assessments; new plans; ceased
  plans by reason; the 2022 release's age bands and MI items; tribunal appeals.

Nothing here is an assumption about a particular authority: how grouped ages are split and how
far event ages move are arguments, stated by the caller (Kent's are in
``inputs/kent/assumptions.py``).

Example::

    from sendsim.inputs.sen2 import Authority
    medway = Authority("Medway")
    medway.placements_by_january()[2024]      # plans by engine placement, January 2024
    medway.request_count(2023)                # requests received in 2023
"""
from sendsim.inputs.sen2.authority import ENGLAND, Authority, authority_names, january_period

__all__ = ["ENGLAND", "Authority", "authority_names", "january_period"]
