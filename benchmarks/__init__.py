"""Speed benchmarks of the engine and the CI speed gate.

- ``workloads``: the built-in Kent baseline and England-shaped cohorts of any size, ready to run;
- ``numpy_reference``: the same monthly step in plain vectorised NumPy (the first yardstick);
- ``limit``: the throughput of the engine's own counter-based draw and table lookup alone
  (the second yardstick: the floor for an engine with the engine's number of draws);
- ``draws``: how many draws and lookups the engine makes per child-month, counted from its
  own flows and measures;
- ``gate``: measures both ratios side by side, writes them to JSON and fails below the
  floors committed in ``benchmarks/floors.json`` (``python -m benchmarks.gate``);
- ``test_*.py``: the pytest-benchmark suite (``python -m pytest benchmarks/``).

Nothing outside ``benchmarks`` and ``tests`` imports this package.
"""
