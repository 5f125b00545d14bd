"""Reproduce the field's published WikiText-2 perplexities with `junkdna ppl` (GPU + the hub).

The targets (docs/yardstick.md): LLaMA-2-7B at 50% unstructured and 2:4 with magnitude, SparseGPT
and Wanda (Sun et al. 2023, Wanda paper), and BLOOM-560M dense / SparseGPT / Wanda at 50% (as
listed in issue 16). Settings follow the Wanda repository (``locuslab/wanda``, ``main.py``):

* evaluation: WikiText-2 raw test joined with "\\n\\n", windows of ``model.seqlen`` (LLaMA-2:
  its 4096 positions; BLOOM: 2048, as SparseGPT's ``bloom.py``), full windows only, fp16;
* calibration: 128 sequences of ``seqlen`` tokens from the first C4 training shard, documents
  drawn with Python's ``random.seed(0)`` among those longer than ``seqlen`` tokens (the repos'
  ``get_c4``). `junkdna ppl` takes calibration as text, so this script writes THOSE documents to a
  JSONL file; junkdna then draws its 128 windows from them (seeded) - the same documents, not
  bit-identical windows;
* magnitude: per layer (``--scope layer``; Wanda's baseline), Wanda: per output row (its default),
  SparseGPT: blocks of 128 columns, dampening 0.01 (junkdna's defaults).

It needs a CUDA GPU with >= 24 GB, >= 32 GB of host memory for LLaMA-2-7B, the hub (``HF_TOKEN``
with access to the gated ``meta-llama/Llama-2-7b-hf``) and about an hour on an A100/H100. It was
NOT run where it was written (no GPU there); ``--dry-run`` prints the commands without running.

    python benchmarks/reproduce_published.py --out out/published            # everything
    python benchmarks/reproduce_published.py --out out/published --models bloom-560m
    python benchmarks/reproduce_published.py --out out/published --dry-run

Writes ``OUT/<model>/<config>.json`` (one `junkdna ppl --json` each; a finished one is not run
again) and ``OUT/published_vs_measured.md`` / ``.csv``: published, measured, the relative
difference and whether it lies within the tolerance (dense 1%: only the evaluation differs;
magnitude 3%: no calibration; Wanda/SparseGPT 5%: the calibration windows differ). Exit status 1
if any row is outside its tolerance.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NSAMPLES = 128
C4_TRAIN = "en/c4-train.00000-of-01024.json.gz"
TOLERANCE = {"dense": 0.01, "magnitude": 0.03, "wanda": 0.05, "sparsegpt": 0.05}


@dataclass(frozen=True)
class Target:
    method: str  # "dense" or a junkdna pruning method
    structure: str  # "unstructured" or "2:4"
    published: float  # WikiText-2 perplexity

    @property
    def name(self) -> str:
        return "dense" if self.method == "dense" else f"{self.method}-{self.structure}"


@dataclass(frozen=True)
class Model:
    hub_id: str
    seqlen: int
    targets: tuple[Target, ...]


MODELS = {
    "llama2-7b": Model(
        "meta-llama/Llama-2-7b-hf",
        4096,
        (
            Target("dense", "unstructured", 5.12),
            Target("magnitude", "unstructured", 14.89),
            Target("sparsegpt", "unstructured", 6.51),
            Target("wanda", "unstructured", 6.42),
            Target("magnitude", "2:4", 54.59),
            Target("sparsegpt", "2:4", 10.17),
            Target("wanda", "2:4", 11.02),
        ),
    ),
    "bloom-560m": Model(
        "bigscience/bloom-560m",
        2048,
        (
            Target("dense", "unstructured", 22.42),
            Target("sparsegpt", "unstructured", 28.92),
            Target("wanda", "unstructured", 30.74),
        ),
    ),
}
# Wanda's seven zero-shot tasks (its Table 2), for --zeroshot.
ZEROSHOT = "boolq,rte,hellaswag,winogrande,arc_easy,arc_challenge,openbookqa"


def calibration_file(model: Model, out: Path, dry_run: bool) -> Path:
    """The C4 documents the repos' ``get_c4`` draws (seed 0), as JSONL."""
    path = out / f"c4-calibration-{model.hub_id.replace('/', '--')}-{model.seqlen}.jsonl"
    if path.is_file() or dry_run:
        return path
    import random

    import datasets
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model.hub_id, use_fast=False)
    train = datasets.load_dataset(
        "allenai/c4", data_files={"train": C4_TRAIN}, split="train"
    )  # the repos' shard
    random.seed(0)
    docs = []
    for _ in range(NSAMPLES):
        while True:
            i = random.randint(0, len(train) - 1)
            enc = tok(train[i]["text"], return_tensors="pt")
            if enc.input_ids.shape[1] > model.seqlen:
                break
        random.randint(0, enc.input_ids.shape[1] - model.seqlen - 1)  # keep the RNG in step
        docs.append(train[i]["text"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    tmp.replace(path)
    return path


def command(model: Model, t: Target, calib: Path, json_out: Path, args) -> list[str]:
    cmd = [sys.executable, "-m", "junkdna", "ppl", model.hub_id, "--dataset", "wikitext2",
           "--seqlen", str(model.seqlen), "--device", args.device, "--precision", "fp16",
           "--json", str(json_out), "--quiet"]  # fmt: skip
    if args.zeroshot:
        cmd += ["--zeroshot", ZEROSHOT]
    if t.method != "dense":
        cmd += ["--method", t.method, "--structure", t.structure]
        if t.structure == "unstructured":
            cmd += ["--sparsity", "0.5"]
            if t.method == "magnitude":
                cmd += ["--scope", "layer"]
        cmd += ["--calibration", str(calib), "--nsamples", str(NSAMPLES)]
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(MODELS), help=f"of {', '.join(MODELS)}")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--zeroshot", action="store_true", help=f"also score {ZEROSHOT}")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args(argv)
    rows, failed = [], 0
    for key in args.models.split(","):
        model = MODELS[key]
        calib = calibration_file(model, args.out, args.dry_run)
        for t in model.targets:
            json_out = args.out / key / f"{t.name}.json"
            cmd = command(model, t, calib, json_out, args)
            if args.dry_run:
                print(" ".join(cmd))
                continue
            if not json_out.is_file():
                json_out.parent.mkdir(parents=True, exist_ok=True)
                print(f"{key} {t.name}: {' '.join(cmd)}", flush=True)
                if subprocess.run(cmd).returncode:
                    print(f"{key} {t.name}: failed", flush=True)
                    failed += 1
                    continue
            got = json.loads(json_out.read_text())
            rel = got["perplexity"] / t.published - 1
            tol = TOLERANCE[t.method]
            rows.append({"model": key, "method": t.method, "structure": t.structure,
                         "published": t.published, "measured": round(got["perplexity"], 3),
                         "relative": round(rel, 4), "tolerance": tol, "ok": abs(rel) <= tol,
                         "sparsity": round(got["sparsity"], 4), "seconds": got["seconds"]})  # fmt: skip
            print(f"{key} {t.name}: published {t.published}, measured {got['perplexity']:.3f} "
                  f"({rel:+.1%})", flush=True)  # fmt: skip
    if args.dry_run or not rows:
        return 0 if not failed else 1
    keys = list(rows[0])
    with open(args.out / "published_vs_measured.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    (args.out / "published_vs_measured.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failed or not all(r["ok"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
