"""The Python API: run a spec, as ``sendsim run`` and ``sendsim sweep`` do.

Example
-------
>>> from pathlib import Path
>>> from sendsim.api import RunSpec, execute
>>> result = execute(RunSpec(out=Path("kent-out"), runs=200, progress=False))   # doctest: +SKIP
>>> print(result.deficit_summary)                                                # doctest: +SKIP

:class:`RunSpec` holds every option of ``sendsim run`` (see its fields); :func:`execute` reads and
checks every input once (:func:`sendsim.inputs.resolve.resolve_run`), simulates, applies the
money model and writes the output folder; it returns a :class:`RunResult` with the manifest, the
baseline's per-run figures and money, and the texts the command line prints.
"""
from sendsim.api.run import RunResult, execute
from sendsim.inputs.resolve import RunSpec, resolve_run

__all__ = ["RunResult", "RunSpec", "execute", "resolve_run"]
