"""The Python API: run a spec, as ``sendsim run`` and ``sendsim sweep`` do, and read its outputs.

Example (docs/api.md has a complete one, run by the tests)
-------
>>> from sendsim.api import RunSpec, execute, load_outputs
>>> result = execute(RunSpec(out="kent-out", runs=200, progress=False))   # doctest: +SKIP
>>> outputs = load_outputs("kent-out")                                    # doctest: +SKIP
>>> outputs.exceedance_probability([200e6], "2027-28")                     # doctest: +SKIP

:class:`RunSpec` holds every option of ``sendsim run`` (see its fields); :func:`execute` reads and
checks every input once (:func:`sendsim.inputs.resolve.resolve_run`), simulates, applies the
money model and writes the output folder; it returns a :class:`RunResult` with the manifest, the
baseline's per-run figures and money, and the texts the command line prints.
:func:`load_outputs` reads an output folder back, checked, as tidy pandas DataFrames
(:class:`Outputs`).
"""
from sendsim.api.run import RunResult, execute
from sendsim.inputs.resolve import RunSpec, resolve_run
from sendsim.outputs.reader import Outputs, ReadError, load_outputs

__all__ = ["Outputs", "ReadError", "RunResult", "RunSpec", "execute", "load_outputs", "resolve_run"]
