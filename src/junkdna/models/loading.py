"""Loading a model and its tokenizer from a ``ModelSource`` (an offline package's GGUF is de-quantized
once into the cache), with the task head's model class."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from junkdna.errors import JunkDNAError, unknown
from junkdna.heads import HEADS
from junkdna.models.hub import check_cached_when_offline, hub_call
from junkdna.models.sources import ModelSource, is_hub, resolve
from junkdna.paths import cache_dir, file_lock


def _dequantized_folder(src: ModelSource) -> str:
    """GGUF de-quantization takes ~20 s; do it once and keep fp32 safetensors in the cache."""
    assert src.gguf_file is not None
    target = cache_dir("models") / Path(src.gguf_file).stem
    if (target / "config.json").is_file():
        return str(target)
    # Parallel workers on a cold cache: one converts, the others wait for it (a lock file).
    with file_lock(target.with_name(target.name + ".lock")):
        if not (target / "config.json").is_file():
            _dequantize_into(src, target)
    return str(target)


def _dequantize_into(src: ModelSource, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        src.ref, gguf_file=src.gguf_file, dtype=torch.float32
    )
    tok = AutoTokenizer.from_pretrained(src.ref, gguf_file=src.gguf_file)
    # The weights are plain fp32 now; drop the GGUF quantizer marker so that they save as such.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)  # atomic: a killed conversion leaves only a hidden temp folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def local_ref(src: ModelSource) -> str:
    if is_hub(src):
        check_cached_when_offline(src.name)
    return _dequantized_folder(src) if src.gguf_file else src.ref


class _no_loading_bar:
    """transformers' "Loading weights" bar off while a local folder loads (it takes a moment,
    and a bar before an error line would make stderr more than the one line of the error)."""

    def __enter__(self):
        from transformers.utils import logging as tf_logging

        self.was = tf_logging.is_progress_bar_enabled()
        if self.was:
            tf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        from transformers.utils import logging as tf_logging

        if self.was:
            tf_logging.enable_progress_bar()
        return False


def _load(src: ModelSource, fn: Callable[[], object], what: str = "model"):
    """``fn()``, a ``from_pretrained``: hub ids through ``hub_call`` (retries, one-line errors);
    a local folder's unreadable files (corrupt or truncated weights, broken JSON) are one line
    naming the folder."""
    try:
        if is_hub(src):
            return hub_call(fn, src.name)  # download bars stay: they say how long it takes
        with _no_loading_bar():
            return fn()
    except OSError as e:
        raise JunkDNAError(
            f"could not load {what} {src.name!r}: {e} (repair or replace the folder's files)"
        ) from e
    except Exception as e:
        if type(e).__name__ != "SafetensorError":
            raise
        raise JunkDNAError(
            f"{what} {src.name!r}: a weights file is corrupt or truncated ({e}); copy the folder "
            "again, or save the model again with save_pretrained"
        ) from e


# ----------------------------------------------------------------------------- loading

# Model-loading modes that are not task heads (those are junkdna.heads.HEADS).
MODES = ("auto", "base")


def load_model(
    name: str,
    head: str = "auto",
    num_labels: int | None = None,
    dtype: torch.dtype = torch.float32,
    **kwargs,
) -> nn.Module:
    """Load a model with the requested task head (a name in ``junkdna.heads.HEADS``, which says
    the Auto class and its keywords) or mode.

    ``auto`` picks the architecture the checkpoint was saved with (causal LM for decoders,
    seq2seq for encoder-decoders, the bare encoder otherwise); ``base`` is the bare model.
    """
    import transformers as tf

    if head not in MODES and head not in HEADS:
        raise unknown("head", head, [*MODES, *HEADS.names()])
    src = resolve(name)
    ref = local_ref(src)
    if head == "base":
        cls = tf.AutoModel
    elif head == "auto":
        cls = _load(src, lambda: _saved_architecture(ref))
    else:
        task_head = HEADS.get(head)
        cls = task_head.model_class()
        kwargs = {**task_head.model_kwargs(num_labels), **kwargs}
    try:
        model = _load(src, lambda: cls.from_pretrained(ref, dtype=dtype, **kwargs))
    except ValueError as e:  # the Auto class has no head for this architecture
        if "Unrecognized configuration class" not in str(e):
            raise
        raise JunkDNAError(
            f"model {name!r} has no {head} head in transformers ({cls.__name__} does not know "
            f"its architecture); pick an encoder such as BERT or RoBERTa for this task"
        ) from None
    model.junkdna_source = src  # type: ignore[attr-defined]
    return model


def head_for(name: str, head: str) -> str:
    """The head a model runs a task's ``head`` with: a multiple-choice task on a model that has
    no multiple-choice class but is a causal LM (LLaMA, SmolLM2, ...) is scored by the causal-LM
    head, each choice by its log-likelihood (the zero-shot convention); every other pair as is."""
    if head != "multiple-choice":
        return head
    import transformers as tf
    from transformers.models.auto import modeling_auto as auto

    try:
        src = resolve(name)
        ref = local_ref(src)
        kind = _load(src, lambda: tf.AutoConfig.from_pretrained(ref), "configuration of")
    except (JunkDNAError, OSError, ValueError):
        return head  # loading the model itself will say what is wrong, in one line
    kind = kind.model_type
    if kind in auto.MODEL_FOR_MULTIPLE_CHOICE_MAPPING_NAMES:
        return head
    return "causal-lm" if kind in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES else head


def _saved_architecture(ref: str) -> type:
    """The Auto class of what the checkpoint was saved as (``head="auto"``)."""
    import transformers as tf

    config = tf.AutoConfig.from_pretrained(ref)
    archs = config.architectures or []
    if any(a.endswith("ForCausalLM") for a in archs):
        return tf.AutoModelForCausalLM
    if getattr(config, "is_encoder_decoder", False):
        return tf.AutoModelForSeq2SeqLM
    return tf.AutoModel


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    src = resolve(name)
    ref = local_ref(src)
    tok = _load(src, lambda: AutoTokenizer.from_pretrained(ref), "tokenizer of")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def model_id(model: nn.Module) -> str:
    """A human-readable identity recorded in mask metadata."""
    src = getattr(model, "junkdna_source", None)
    if src is not None:
        return src.name
    return getattr(model.config, "_name_or_path", "") or type(model).__name__
