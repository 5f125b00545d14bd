"""Thin command line: parse, call the library, print. Each command lives in junkdna.commands.*,
with ``add_parser(subparsers)`` and ``run(args) -> int``.

Every user mistake (a bad flag, path, name, value or file; a full disk or a folder that is not
writable) ends in ONE line on stderr, ``junkdna COMMAND: error: ...``, naming the thing, what was
wrong and what would be valid, with exit code 2 and no traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from junkdna.errors import JunkDNAError, UsageError, one_line, os_error
from junkdna.version import __version__

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
    "ppl",
    "compare",
    "atlas",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is a UsageError (one line, exit 2) rather than the usage
    block and SystemExit; subcommand parsers inherit this class.

    ``examples``: command lines that run as written on the offline default; ``--help`` ends with
    them, one per line, under "Examples:" (``tests/test_help_examples.py`` parses and runs them).
    """

    def __init__(self, *args, examples: list[str] | tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.examples = list(examples)

    def format_help(self) -> str:
        text = super().format_help()
        if not self.examples:
            return text
        lines = "".join(f"  {e}\n" for e in self.examples)
        return f"{text.rstrip()}\n\nExamples:\n{lines}"

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


DEBUG_HELP = "show the traceback of an error (default: one line)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="junkdna",
        description="Which pre-trained weights matter for which tasks: prune, transfer, report.",
        examples=["junkdna tasks", "junkdna plan studies/quickstart.toml"],
    )
    parser.add_argument("--version", action="version", version=f"junkdna {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        mod = importlib.import_module(f"junkdna.commands.{module}")
        p = mod.add_parser(sub)
        # Also after the command (`junkdna prune ... --debug`); SUPPRESS keeps the global one.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        p.set_defaults(_run=mod.run)
    return parser


def _fail(command: str, e: JunkDNAError, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    prog = f"junkdna {command}" if command else "junkdna"
    for line in getattr(e, "lines", None) or [str(e)]:  # several missing things: a line each
        print(f"{prog}: error: {one_line(line)}", file=sys.stderr)
    return e.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        command = next((a for a in argv if a in COMMANDS), None)
        return _fail(command or "", e, "--debug" in argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args._run(args) or 0)
    except JunkDNAError as e:
        return _fail(args.command, e, debug)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `junkdna plan STUDY | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a full disk, a folder that is not writable, a missing file
        err = os_error(e)
        if err is None:
            raise
        return _fail(args.command, err, debug)


if __name__ == "__main__":
    sys.exit(main())
