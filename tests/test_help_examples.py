"""Every command's ``--help`` ends with examples that run as written: each example parses with the
real parser (a renamed flag fails here), and the cheap ones (no model is loaded) run to exit 0."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

import pytest

from junkdna.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]

# Examples that load no model and train nothing: run here (the rest are only parsed).
CHEAP = {"tasks", "data sources", "plan", "status"}


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """'' (the top level), each command, each subcommand ('data sources')."""
    out = {}

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        out[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, p in action.choices.items():
                    walk(f"{name} {sub}".strip(), p)

    walk("", build_parser())
    return out


PARSERS = _parsers()


def _examples(help_text: str) -> list[str]:
    head, sep, block = help_text.rpartition("\nExamples:\n")
    assert sep, "no Examples block"
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_every_command_and_subcommand_is_walked():
    assert {"prune", "finetune", "ppl", "compare", "atlas", "lmc", "data sources"} <= set(PARSERS)
    assert len(PARSERS) == 1 + 13 + 2  # the top level, 13 commands, data's two verbs


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_ends_with_examples_that_parse(name):
    text = PARSERS[name].format_help()
    assert text.rstrip().splitlines()[-1].startswith("  junkdna"), "help must end with examples"
    examples = _examples(text)
    assert 1 <= len(examples) <= 3
    for line in examples:
        argv = shlex.split(line)
        assert argv[0] == "junkdna"
        if name:  # a command's examples run that command (the top level's may show any)
            assert argv[1 : 1 + len(name.split())] == name.split(), line
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit as e:  # pragma: no cover - a message is clearer than the exit
            pytest.fail(f"{line!r} does not parse: exit {e.code}")


def _cheap_examples() -> list[str]:
    out = []
    for parser in PARSERS.values():
        for line in _examples(parser.format_help()):
            words = shlex.split(line)[1:]
            if (words[0] in CHEAP or " ".join(words[:2]) in CHEAP) and line not in out:
                out.append(line)
    return out


@pytest.mark.parametrize("line", _cheap_examples())
def test_cheap_examples_run(line, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(ROOT)  # studies/quickstart.toml as written
    assert os.path.isfile(ROOT / "studies" / "quickstart.toml")
    rc = main(shlex.split(line)[1:])
    out, err = capsys.readouterr()
    assert rc == 0, f"{line}: exit {rc}: {err[-500:]}"
    assert out.strip()
