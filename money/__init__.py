"""The money model, pure: finance rows and simulated spend in, yearly money tables out.

- :mod:`~sendsim.money.schema`: the finance items, :class:`FinanceRow`, the rule error;
- :mod:`~sendsim.money.book`: :class:`FinanceBook`, every yearly series the rows imply (cost
  types and pay awards, each placement's price, the lines outside plans, income gross to net,
  contributions, the profile);
- :mod:`~sendsim.money.prices`: from the engine's spend at base prices to each month's prices
  (one index, or one per run where a plan's price mitigations differ between runs);
- :mod:`~sendsim.money.draws`: the money model's random numbers, pure functions of (seed, run,
  key) through the engine's counter-based generator (common random numbers);
- :mod:`~sendsim.money.model`: per run and financial year, spend, income, the in-year and
  accumulated DSG deficit against the Safety Valve profile.

It reads no files and writes none (``sendsim.inputs`` reads the finance files,
``sendsim.outputs`` writes the tables).
"""
