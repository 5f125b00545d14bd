"""Offline QA (setting 3) with smollm2-135m on CPU: dense scores in both modes, chance, and
questions per second of the scorer against a named baseline measured in the same run: one
question at a time, each choice a full forward of prompt + choice ("one-at-a-time").

Two samples of the same size: ExternalInformation's (questions drawn at random, so few share a
passage) and a passage-grouped one (all questions of randomly drawn validation passages, so the
scorer runs each passage once for its questions). The load average is printed: the machine is
shared, and with other work on the cores one torch thread often beats two.

    JUNKDNA_HOME=... python benchmarks/bench_qa.py --questions 200 --evidence-words 128 --threads 1

Measured 2026-11-29 on the shared 2-core machine (squad_mc v2; accuracy, questions/second, and
the speed-up over one-at-a-time in the same run; grouped = passage-grouped sample):

    questions words threads load | open-book            grouped    | closed-book
    200       128   1       3.0  | 0.895 1.81 q/s 5.4x  3.13 q/s  | 0.620  6.44 q/s 4.5x
    60        64    1       3.5  | 0.817 2.33 q/s 4.0x  4.17 q/s  | 0.633  6.94 q/s 5.0x
    60        128   1       1.5  | 0.867 1.57 q/s 3.6x  3.09 q/s  | 0.633  6.54 q/s 4.9x
    200       128   2       2.4  | 0.895 3.79 q/s 12.0x 4.51 q/s  | 0.620 11.37 q/s 5.9x
    60        64    2       1.6  | 0.817 4.13 q/s 5.2x  5.87 q/s  | 0.633  9.70 q/s 5.8x
    60        128   2       1.8  | 0.867 2.73 q/s 3.7x  5.01 q/s  | 0.633 11.20 q/s 5.4x
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
import torch

from junkdna.difficulty import ExternalInformation
from junkdna.models import load_model, load_tokenizer
from junkdna.recipe import Recipe
from junkdna.tasks.qa import EVIDENCE
from junkdna.tasks.registry import load_task
from junkdna.transfer import evaluate
from junkdna.transfer.data import encode


def naive_qps(model, tok, task, recipe, n: int) -> float:
    """Baseline: unbatched, no shared cache; every choice re-reads the whole prompt."""
    feats, _ = encode(tok, task, "validation", recipe, generation=True)
    t = time.perf_counter()
    with torch.inference_mode():
        for f in feats[:n]:
            for c in f["choice_ids"]:
                ids = torch.tensor([f["prompt_ids"] + c])
                model(input_ids=ids).logits[0, -len(c) - 1 : -1].log_softmax(-1)
    return n / (time.perf_counter() - t)


def by_passage(task, n: int, seed: int = 0):
    """All validation questions of randomly drawn passages, until there are >= ``n``."""
    evidence = task.validation[EVIDENCE]
    passages = list(dict.fromkeys(evidence))
    keep: set[str] = set()
    for j in np.random.default_rng(seed).permutation(len(passages)):
        if sum(e in keep for e in evidence) >= n:
            break
        keep.add(passages[j])
    rows = [i for i, e in enumerate(evidence) if e in keep]
    return dataclasses.replace(task, validation=task.validation.select(rows))


def timed(model, tok, task, recipe) -> tuple[dict, float]:
    t = time.perf_counter()
    scores = evaluate(model, tok, task, recipe)
    return scores, len(task.validation) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="squad_mc")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--evidence-words", type=int, default=128)
    ap.add_argument("--baseline-questions", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, load average {os.getloadavg()}", flush=True)
    model = load_model("smollm2-135m", head="causal-lm").eval()
    tok = load_tokenizer("smollm2-135m")
    recipe = Recipe(eval_batch_size=args.batch_size, max_length=512)
    full = load_task(args.task)
    for mode in ("open-book", "closed-book"):
        setting = ExternalInformation(mode, args.evidence_words, args.questions)
        task = setting.apply(full)
        scores, qps = timed(model, tok, task, recipe)
        grouped = by_passage(
            ExternalInformation(mode, args.evidence_words).apply(full), args.questions
        )
        g_scores, g_qps = timed(model, tok, grouped, recipe)
        base = naive_qps(model, tok, task, recipe, args.baseline_questions)
        print(
            f"{mode}: {scores} chance {task.info['chance']:.3f} | {qps:.2f} q/s vs one-at-a-time "
            f"{base:.2f} q/s ({qps / base:.1f}x) | passage-grouped sample of "
            f"{len(grouped.validation)}: {g_scores['accuracy']:.3f}, {g_qps:.2f} q/s "
            f"({g_qps / base:.1f}x) | load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
