"""The `sendsim` command line. Thin: it parses options and calls the packages.

Each subcommand lives in a module ``sendsim/cmd_<name>.py`` that defines
``register(subparsers)`` (adds its parser and options) and ``main(args) -> int``; the
modules are found by name, so adding a command means adding a file.

Every command also takes ``--verbose`` (more detail: each task of a run, the files read) and
``--log FILE`` (the same messages appended to FILE, each with a timestamp and a level); the
messages go to standard error, the results to standard output, the progress bar to standard
error as before. ``sendsim --version`` prints the version.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from importlib import metadata
from pathlib import Path

import sendsim

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
logger = logging.getLogger("sendsim")


def version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("sendsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def command_modules() -> list:
    """The command modules, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(sendsim.__path__) if m.name.startswith("cmd_"))
    return [importlib.import_module(f"sendsim.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sendsim", description="Monte Carlo microsimulation of SEND placement "
                                     "flows and the high-needs (DSG) deficit. Kent County Council is built in.")
    parser.add_argument("--version", action="version", version=f"sendsim {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        sub = module.register(commands)
        sub.set_defaults(handler=module.main)
        sub.add_argument("--verbose", action="store_true", help="more detail on standard error (and in --log)")
        sub.add_argument("--log", type=Path, default=None, metavar="FILE",
                         help="also append the messages to FILE, each with a timestamp and a level")
    return parser


def configure_logging(verbose: bool, log_file: Path | None) -> list[logging.Handler]:
    """Messages of the ``sendsim`` loggers: plain on standard error; with a timestamp and a level
    in ``log_file``. Returns the handlers added (removed again when the command ends)."""
    level = logging.DEBUG if verbose else logging.INFO
    logger.setLevel(level)
    logger.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        try:
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as error:
            raise SystemExit(f"sendsim: error: --log {log_file}: cannot write it ({error.strerror or error})") from None
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handlers.append(file_handler)
    for handler in handlers:
        handler.setLevel(level)
        logger.addHandler(handler)
    return handlers


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from sendsim.inputs.errors import InputError
    from sendsim.outputs.store import OutputError
    from sendsim.simcore.engine import SimulationError
    handlers = configure_logging(args.verbose, args.log)
    logger.debug("sendsim %s: %s", version(), " ".join(["sendsim", *(sys.argv[1:] if argv is None else argv)]))
    try:
        return args.handler(args)
    except (InputError, OutputError, SimulationError) as error:
        logger.error("sendsim %s: error: %s", args.command, error)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        logger.error("sendsim %s: interrupted", args.command)
        return 130
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()


if __name__ == "__main__":
    sys.exit(main())
