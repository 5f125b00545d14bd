"""Offline QA (setting 3) with smollm2-135m on CPU: dense scores in both modes, chance, and
questions per second of the batched, cache-sharing scorer against a named baseline measured in
the same run: one question at a time, each choice a full forward of prompt + choice.

    JUNKDNA_HOME=... python benchmarks/bench_qa.py --questions 200 --evidence-words 128
"""

from __future__ import annotations

import argparse
import time

import torch

from junkdna.difficulty import ExternalInformation
from junkdna.models import load_model, load_tokenizer
from junkdna.tasks.registry import load_task
from junkdna.transfer import Recipe, evaluate
from junkdna.transfer.data import encode


def naive_qps(model, tok, task, recipe, n: int) -> float:
    """Baseline: unbatched, no shared cache; every choice re-reads the whole prompt."""
    feats, labels = encode(tok, task, "validation", recipe, generation=True)
    t = time.perf_counter()
    with torch.inference_mode():
        for f in feats[:n]:
            for c in f["choice_ids"]:
                ids = torch.tensor([f["prompt_ids"] + c])
                model(input_ids=ids).logits[0, -len(c) - 1 : -1].log_softmax(-1)
    return n / (time.perf_counter() - t)


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
    model = load_model("smollm2-135m", head="causal-lm").eval()
    tok = load_tokenizer("smollm2-135m")
    recipe = Recipe(eval_batch_size=args.batch_size, max_length=512)
    for mode in ("open-book", "closed-book"):
        setting = ExternalInformation(mode, args.evidence_words, args.questions)
        task = load_task(args.task, difficulty=setting)
        t = time.perf_counter()
        scores = evaluate(model, tok, task, recipe)
        qps = len(task.validation) / (time.perf_counter() - t)
        base = naive_qps(model, tok, task, recipe, args.baseline_questions)
        print(
            f"{mode}: {scores} chance {task.info['chance']:.3f} | {qps:.2f} q/s batched+cache vs "
            f"{base:.2f} q/s one-at-a-time full forwards ({qps / base:.1f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
