"""A pruned (or fine-tuned) model out as a plain transformers folder (``--save-model DIR``):
``model.safetensors`` (the pruned entries are exact zeros), ``config.json``, the tokenizer's files
and a model card (``README.md``) saying how it was pruned. No custom code: ``AutoModel*`` /
``from_pretrained``, lm-evaluation-harness (``pretrained=DIR``) and vLLM read it as they read any
checkpoint. A model that came from a GGUF file (SmolLM2) is already de-quantized to fp32 in
memory and is saved as such; tied embeddings are stored once (``save_pretrained``).

The folder is written beside DIR under a hidden temporary name and renamed into place when
complete: a failure leaves nothing half-written. DIR may not exist yet or be an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.paths import check_writable_folder

FLAG = "--save-model"


def check_model_folder(out: str | os.PathLike, what: str = FLAG) -> Path:
    """Fail fast, before any model loads: ``out`` must be absent or an empty folder whose
    parent can be written to (the folder is renamed into place there)."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise JunkDNAError(
                f"{what} {str(out)!r} exists and is not a folder; give a new folder path"
            )
        if any(out.iterdir()):
            raise JunkDNAError(
                f"{what} {str(out)!r} exists and is not empty; give a new or empty folder "
                "(nothing is overwritten)"
            )
    check_writable_folder(out.parent if out.parent != out else out, what)
    return out


def calibration_of(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The calibration settings a MaskSet's metadata records, or None (magnitude needs none)."""
    cal = metadata.get("calibration")
    return cal if isinstance(cal, dict) and cal else None


def model_card(facts: dict[str, Any]) -> str:
    """README.md: YAML front matter for the hub, then what was done, in words and a table."""
    from junkdna.version import __version__

    method = facts.get("method") or "none"
    structure = facts.get("structure") or "unstructured"
    sparsity = facts.get("sparsity")
    cal = facts.get("calibration")
    base = facts.get("base_model") or "?"
    kind = "N:M semi-structured" if ":" in str(structure) else "unstructured"
    lines = [
        "---",
        "library_name: transformers",
        "tags:",
        "- pruned",
        "- junkdna",
        f"- {kind.split()[0].lower()}-sparsity",
        "---",
        "",
        f"# {Path(str(base)).name or base}, pruned with junkdna",
        "",
        f"Base model `{base}` pruned one-shot by junkdna {__version__} with **{method}** "
        + (
            f"to **{sparsity:.4f}** sparsity of its prunable weights"
            if isinstance(sparsity, float)
            else "(no pruning)"
        )
        + f", structure **{structure}** ({kind}). The pruned entries are stored as exact zeros "
        "in ordinary dense weights (no custom code): load it with `from_pretrained`, "
        "lm-evaluation-harness (`--model hf --model_args pretrained=THIS_FOLDER`) or vLLM.",
        "",
        "| setting | value |",
        "| --- | --- |",
        f"| method | {method} |",
        f"| sparsity (prunable weights) | {sparsity if sparsity is not None else '-'} |",
        f"| structure | {structure} |",
        f"| scope | {facts.get('scope') or '-'} |",
    ]
    if cal:
        lines += [
            f"| calibration source | {cal.get('source', '-')} |",
            f"| calibration nsamples | {cal.get('nsamples', '-')} |",
            f"| calibration seqlen | {cal.get('seqlen', '-')} |",
            f"| calibration seed | {cal.get('seed', '-')} |",
        ]
    else:
        lines.append("| calibration | none (the method reads no data) |")
    for key in ("regime", "task"):
        if facts.get(key):
            lines.append(f"| fine-tuning {key} | {facts[key]} |")
    lines += [
        f"| pruned weights | {facts.get('pruned_weights', '-')} of {facts.get('total', '-')} |",
        f"| junkdna | {__version__} |",
        "",
        "Which weights count as prunable: the linear projections inside the transformer blocks "
        "(embeddings and the LM head are kept unless named with `--include`).",
        "",
        "```json",
        json.dumps(facts, indent=2, sort_keys=True, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)


def facts_of(maskset, base_model: str, **extra: Any) -> dict[str, Any]:
    """The model card's facts from a MaskSet (None: a dense or fine-tuned-only model)."""
    from junkdna.version import __version__

    facts: dict[str, Any] = {"base_model": base_model, "junkdna": __version__, **extra}
    if maskset is not None:
        meta = maskset.metadata
        facts |= {
            "method": meta.get("method"),
            "sparsity": round(float(maskset.sparsity), 6),
            "target_sparsity": meta.get("sparsity"),
            "structure": meta.get("structure"),
            "scope": meta.get("scope"),
            "calibration": calibration_of(meta),
            "pruned_weights": maskset.total - maskset.kept,
            "total": maskset.total,
        }
    return facts


def save_model_folder(
    model: nn.Module, tokenizer, out: str | os.PathLike, facts: dict[str, Any]
) -> Path:
    """Write ``model`` (as it is in memory: pruned entries zero), ``tokenizer`` and a model card
    into ``out``, all or nothing (a hidden folder beside ``out``, renamed into place)."""
    out = check_model_folder(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        # A GGUF-loaded model may still carry the quantizer marker: its weights are fp32 now.
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer = None
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "quantization_config"):
            del config.quantization_config
        from transformers.utils import logging as tf_logging

        bar = tf_logging.is_progress_bar_enabled()
        tf_logging.disable_progress_bar()  # stderr stays for errors
        try:
            model.save_pretrained(tmp, safe_serialization=True)
        finally:
            if bar:
                tf_logging.enable_progress_bar()
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(model_card(facts))
        if out.is_dir():
            out.rmdir()  # empty (checked): the rename replaces it
        os.replace(tmp, out)
    except OSError as e:
        raise JunkDNAError(f"{FLAG} {str(out)!r}: could not write the model ({e})") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
