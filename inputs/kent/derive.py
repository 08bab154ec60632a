"""Derive the built-in Kent dataset: ``inputs/kent/parameters.csv`` and ``inputs/kent/cohort.csv``.

Run ``python -m sendsim.inputs.kent.derive``. It writes, deterministically, from the vendored
SEN2 files (the library :mod:`sendsim.inputs.sen2`, data in ``inputs/data/``), Kent's Safety
Valve return and public finance figures (``inputs/kent/data/``) and the stated assumptions
(:mod:`sendsim.inputs.kent.assumptions`):

* ``parameters.csv``: every engine parameter (docs/parameters.md format), each row with its
  ``source`` (a data file and column, a ``seed_targets.csv`` id, or ``assumption: ...``) and a
  ``note`` saying how the value was derived;
* ``cohort.csv``: one record per child with an EHCP in Kent in January 2024 (reproducing the
  SEN2 January 2024 cross-tab of single-age by placement exactly) plus the opening assessment
  pipeline (requests pending a decision and assessments in progress).

The derivation itself is :mod:`sendsim.inputs.derivation` (rates, mixes, opening numbers) and
:mod:`sendsim.inputs.derive` (rows and records), the same for every authority; Kent's own is
:func:`derivation`, with its Safety Valve return as local figures.
"""
from __future__ import annotations

from pathlib import Path

from sendsim.inputs import derive as authority_derive
from sendsim.inputs.derivation import Derivation

HERE = Path(__file__).resolve().parent
DATA = authority_derive.KENT_DATA
PARAMETERS_PATH = HERE / "parameters.csv"
COHORT_PATH = HERE / "cohort.csv"
# The opening snapshot: the January 2024 census.
START = authority_derive.CENSUS


def derivation() -> Derivation:
    """Kent's derivation: its SEN2 series, its Safety Valve return, the stated assumptions."""
    return authority_derive.derivation_for(authority_derive.KENT, START)


def parameters_csv_text() -> str:
    """The text of ``inputs/kent/parameters.csv`` as derived now."""
    return authority_derive.parameters_csv_text(authority_derive.derive_parameters(derivation()))


def cohort_csv_text() -> str:
    """The text of ``inputs/kent/cohort.csv`` as derived now."""
    return authority_derive.cohort_csv_text(authority_derive.derive_cohort(derivation()))


def main() -> None:
    parameters, cohort = authority_derive.write(derivation(), HERE)
    print(f"wrote {parameters} and {cohort}")


if __name__ == "__main__":
    main()
