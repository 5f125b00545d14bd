"""Tiny study fixtures: a random 2-layer BERT saved with the offline MiniLM tokenizer, a local
JSONL task that the model can learn, and a study file writer."""

from __future__ import annotations

import json
import random
from pathlib import Path


def make_tiny_bert(folder: Path) -> Path:
    """Hidden size 16, 2 layers; vocab 30522 to match the MiniLM tokenizer (saved alongside)."""
    import torch
    from transformers import BertConfig, BertModel

    from junkdna.models import load_tokenizer

    if (folder / "config.json").is_file():
        return folder
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(folder)
    load_tokenizer("minilm").save_pretrained(folder)
    return folder


def make_task_file(path: Path, n: int = 40, seed: int = 0) -> Path:
    """Sentiment-like rows: label 1 iff the text contains 'good' (learnable by a tiny model)."""
    rng = random.Random(seed)
    words = ["movie", "plot", "actor", "scene", "music", "story", "ending", "film"]
    rows = []
    for i in range(n):
        label = i % 2
        w = rng.sample(words, 3)
        rows.append({"text": f"{'good' if label else 'bad'} {' '.join(w)}", "label": label})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


TINY_STUDY = """
[study]
name = "tiny"
output = "out"
seeds = {seeds}

[recipe]
lr = 1e-3
epochs = 1
batch_size = 8
max_length = 16

[[experiment]]
name = "grid"
models = ["./tiny-bert"]
tasks = [{{ name = "toy", file = "toy.jsonl" }}]
regimes = {regimes}
{extra}

[[experiment.pruning]]
methods = ["magnitude"]
scopes = ["global"]
sparsities = {sparsities}
"""


def tiny_study_text(regimes=("dense", "sparse"), sparsities=(0.5,), extra="", seeds=(1,)) -> str:
    """The tiny study's TOML (over ./tiny-bert and ./toy.jsonl)."""
    return TINY_STUDY.format(
        regimes=json.dumps(list(regimes)),
        sparsities=json.dumps(list(sparsities)),
        extra=extra,
        seeds=json.dumps(list(seeds)),
    )


def write_study(folder: Path, regimes=("dense", "sparse"), sparsities=(0.5,), extra="") -> Path:
    """A study over the tiny model and the toy task in ``folder`` (made if missing)."""
    make_tiny_bert(folder / "tiny-bert")
    if not (folder / "toy.jsonl").is_file():
        make_task_file(folder / "toy.jsonl")
    text = tiny_study_text(regimes, sparsities, extra)
    path = folder / "study.toml"
    path.write_text(text)
    return path
