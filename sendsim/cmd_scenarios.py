"""`sendsim scenarios`: the built-in scenarios and the levers a scenario file can set."""
from __future__ import annotations

import argparse


def register(commands) -> argparse.ArgumentParser:
    return commands.add_parser("scenarios", help="list the built-in scenarios and the scenario levers",
                               description="List the built-in Kent scenarios (run them with `sendsim run --scenario "
                               "NAME`) and the levers a scenario TOML file can set (docs/scenarios.md).")


def main(args: argparse.Namespace) -> int:
    from sendsim.inputs.mitigations import EFFECT_KEYS, read_mitigations
    from sendsim.inputs.scenarios import LEVERS, builtin_names, builtin_path, read_scenario_table

    print("Built-in scenarios:")
    for name in builtin_names():
        table = read_scenario_table(builtin_path(name))
        print(f"  {name:<32} {table.get('description', '')}")
    print()
    print("Levers ([levers.NAME] in a scenario file):")
    for lever in LEVERS.values():
        keys = ", ".join(k + ("" if k in lever.required else "?") for k in lever.keys)
        print(f"  {lever.name:<24} {{{keys}}}\n      {lever.description}")
    print()
    print("Mitigations ([[mitigation]] tables: name, source, start, ramp_months, delivery, delivery_source, target, "
          "effect); effect kinds:")
    for kind, effect_keys in EFFECT_KEYS.items():
        print(f"  {kind:<24} {{{', '.join(effect_keys)}}}")
    for name in builtin_names():
        path = builtin_path(name)
        table = read_scenario_table(path)
        if "mitigation" in table:
            print()
            print(f"Mitigations of {name} (in log order):")
            for m in read_mitigations(str(path), table["mitigation"]):
                print(f"  {m.name:<24} from {m.start[0]:04d}-{m.start[1]:02d}, ramp {m.ramp_months} months, "
                      f"P(delivered) {m.delivery:g}, effect {m.kind}")
    return 0
