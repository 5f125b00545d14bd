"""``--save-model DIR``: a plain transformers folder that loads back with ``from_pretrained``, whose
zeros are exactly the mask's pruned entries and whose outputs are the in-memory pruned model's;
a model card naming method, sparsity, structure, calibration and junkdna's version."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_task_file, make_tiny_bert  # noqa: E402

from junkdna.cli import main  # noqa: E402


def _check_zeros(saved: dict[str, torch.Tensor], masks) -> None:
    for name, m in masks.items():
        w = saved[name]
        assert torch.equal(w == 0, ~m), f"{name}: zeros differ from the mask's pruned entries"


def test_prune_save_model_loads_back(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from junkdna import __version__
    from junkdna.masks import MaskSet

    bert = make_tiny_bert(tmp_path / "tiny-bert")
    out, saved = tmp_path / "masks", tmp_path / "saved"
    argv = ["prune", str(bert), "--sparsity", "0.5", "--structure", "2:4", "--out", str(out),
            "--quiet", "--save-model", str(saved)]  # fmt: skip
    assert main(argv) == 0
    masks = MaskSet.load(out / "masks.safetensors")
    files = {p.name for p in saved.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "tokenizer_config.json"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".saved")]  # no temp left
    _check_zeros(load_file(str(saved / "model.safetensors")), masks)

    # The scores: the saved folder's outputs are the pruned model's (the original, masked).
    back = AutoModel.from_pretrained(saved).eval()
    ref = AutoModel.from_pretrained(bert).eval()
    masks.apply(ref)
    tok = AutoTokenizer.from_pretrained(saved)
    batch = tok(["a good movie", "the plot was dull"], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.equal(back(**batch).last_hidden_state, ref(**batch).last_hidden_state)

    card = (saved / "README.md").read_text()
    for words in ("magnitude", "2:4", "N:M", f"junkdna | {__version__}", "calibration"):
        assert words in card, words


def test_finetune_save_model(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification

    from junkdna.masks import MaskSet

    bert = make_tiny_bert(tmp_path / "tiny-bert")
    task = make_task_file(tmp_path / "toy.jsonl")
    out, saved = tmp_path / "run", tmp_path / "saved"
    argv = ["finetune", str(bert), "--task", str(task), "--regime", "sparse", "--sparsity", "0.5",
            "--max-steps", "2", "--batch-size", "4", "--out", str(out),
            "--save-model", str(saved)]  # fmt: skip
    assert main(argv) == 0
    masks = MaskSet.load(out / "masks.safetensors")
    _check_zeros(load_file(str(saved / "model.safetensors")), masks)
    back = AutoModelForSequenceClassification.from_pretrained(saved)
    assert back.config.num_labels == 2
    card = (saved / "README.md").read_text()
    assert "fine-tuning regime | sparse" in card and "toy" in card
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] in ("ok", "warning")


def test_bad_folder_checked_before_anything(tmp_path):
    from junkdna.errors import JunkDNAError
    from junkdna.pruning.save import check_model_folder

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(JunkDNAError, match="not empty"):
        check_model_folder(tmp_path / "full")
    with pytest.raises(JunkDNAError, match="not a folder"):
        check_model_folder(tmp_path / "file")
    assert check_model_folder(tmp_path / "empty") == tmp_path / "empty"
    assert check_model_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"


@pytest.mark.slow
def test_smollm2_save_model_tied_fp32_same_logits(tmp_path):
    """The GGUF-origin SmolLM2: fp32 safetensors, tied embeddings stored once and tied again on
    load, a tokenizer folder, and the saved model's logits equal the in-memory pruned model's."""
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from junkdna.models import load_model, load_tokenizer
    from junkdna.pruning import prune_calibrated
    from junkdna.pruning.save import facts_of, save_model_folder

    model, tok = load_model("smollm2-135m"), load_tokenizer("smollm2-135m")
    cal = {"source": "default", "nsamples": 4, "seqlen": 64, "seed": 0}
    masks = prune_calibrated(model, tok, "wanda", cal, sparsity=0.5)
    save_model_folder(model, tok, tmp_path / "out", facts_of(masks, "smollm2-135m"))
    with safe_open(str(tmp_path / "out" / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
        assert all(f.get_tensor(k).dtype == torch.float32 for k in list(keys)[:5])
        saved = {n: f.get_tensor(n) for n in masks}
    assert "lm_head.weight" not in keys  # tied: stored once
    _check_zeros(saved, masks)
    back = AutoModelForCausalLM.from_pretrained(tmp_path / "out").eval()
    assert back.lm_head.weight.data_ptr() == back.model.embed_tokens.weight.data_ptr()
    tok2 = AutoTokenizer.from_pretrained(tmp_path / "out")
    ids = tok2("The quick brown fox jumps over the lazy dog.", return_tensors="pt").input_ids
    assert ids.tolist() == tok("The quick brown fox jumps over the lazy dog.",
                               return_tensors="pt").input_ids.tolist()  # fmt: skip
    with torch.no_grad():
        assert torch.allclose(back(ids).logits, model.eval()(ids).logits, atol=1e-5, rtol=0)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "wanda" in card and "| calibration nsamples | 4 |" in card
