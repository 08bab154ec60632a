"""`sendsim params`: list the parameters the engine reads."""
from __future__ import annotations

import argparse


def register(commands) -> argparse.ArgumentParser:
    return commands.add_parser("params", help="list the parameters the engine reads, with their dimensions",
                               description="List every parameter of the parameter files (docs/parameters.md).")


def main(args: argparse.Namespace) -> int:
    from sendsim.simcore.model import SCHEMA
    for name, spec in SCHEMA.items():
        dims = ", ".join("to" if d == "to_move" else d for d in spec.dims) or "-"
        default = "" if spec.optional_default is None else f" (default {spec.optional_default:g})"
        dist = " [distribution over the last dimension]" if spec.distribution else ""
        print(f"{name:<22} {spec.kind:<12} dims: {dims}{dist}{default}\n    {spec.description}")
    return 0
