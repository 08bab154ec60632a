"""The money model, pure: finance rows and simulated spend in, yearly money tables out.

- :mod:`~sendsim.money.schema`: the finance items, :class:`FinanceRow`, the rule error;
- :mod:`~sendsim.money.book`: :class:`FinanceBook`, every yearly series the rows imply (prices,
  spend lines, income, contributions, the profile);
- :mod:`~sendsim.money.prices`: from the engine's spend at base prices to each month's prices;
- :mod:`~sendsim.money.model`: per run and financial year, spend, income, the in-year and
  accumulated DSG deficit against the Safety Valve profile.

It reads no files and writes none (``sendsim.inputs`` reads the finance files,
``sendsim.outputs`` writes the tables) and draws no random numbers.
"""
