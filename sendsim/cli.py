"""The `sendsim` command line. Thin: it parses options and calls the packages.

Each subcommand lives in a module ``sendsim/cmd_<name>.py`` that defines
``register(subparsers)`` (adds its parser and options) and ``main(args) -> int``; the
modules are found by name, so adding a command means adding a file.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import sendsim


def command_modules() -> list:
    """The command modules, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(sendsim.__path__) if m.name.startswith("cmd_"))
    return [importlib.import_module(f"sendsim.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sendsim", description="Monte Carlo microsimulation of SEND placement "
                                     "flows and the high-needs (DSG) deficit. Kent County Council is built in.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        sub = module.register(commands)
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from sendsim.inputs.errors import InputError
    from sendsim.outputs.store import OutputError
    from sendsim.simcore.engine import SimulationError
    try:
        return args.handler(args)
    except (InputError, OutputError, SimulationError) as error:
        print(f"sendsim {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print(f"sendsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
