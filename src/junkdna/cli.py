"""Thin command line: parse, call the library, print. Each command lives in junkdna.commands.*,
with ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from junkdna import __version__
from junkdna.errors import JunkDNAError

# Modules in junkdna.commands, each adding one command (its name is the module's command name).
COMMANDS = [
    "prune",
    "tasks",
    "data",
    "finetune",
    "plan",
    "run",
    "status",
    "export",
    "report",
    "lmc",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="junkdna",
        description="Which pre-trained weights matter for which tasks: prune, transfer, report.",
    )
    parser.add_argument("--version", action="version", version=f"junkdna {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        mod = importlib.import_module(f"junkdna.commands.{module}")
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or 0)
    except JunkDNAError as e:
        print(f"junkdna {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `junkdna plan STUDY | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
