"""The lm-evaluation-harness bridge: run lm-eval's own tasks on a model in memory (dense or
pruned), through lm-eval's API (``simple_evaluate`` with ``HFLM(pretrained=<model>)``), so that a
pruned model is scored by the field's tool without being written out first.

lm-eval (``pip install 'junkdna[harness]'``, lm-eval==0.4.13) is optional: nothing here imports it
until a harness is asked for, and then its absence is one line naming the extra. Task names are
checked, and each task's data loaded, before any model loads; offline (``HF_DATASETS_OFFLINE`` /
``HF_HUB_OFFLINE``) a task whose data is not cached is one line.

``local_task`` writes an lm-eval task (YAML, ``dataset_path: json``) over a local JSONL file of
multiple-choice rows, which is how junkdna's zero-shot scoring is checked against lm-eval's
(``tests/test_harness.py``): the same items, the same model, the same ``acc`` and ``acc_norm``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError, unknown

HARNESSES = ("lm-eval",)
EXTRA = "harness"
INSTALL = f"pip install 'junkdna[{EXTRA}]' (lm-eval==0.4.13)"
METRICS = ("acc", "acc_norm")


def require_lm_eval():
    try:
        import lm_eval
    except ImportError:
        raise JunkDNAError(
            f"--harness lm-eval needs lm-evaluation-harness, which is not installed: {INSTALL}"
        ) from None
    return lm_eval


def _offline() -> bool:
    flags = (os.environ.get(k, "").upper() for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))
    return any(f in ("1", "ON", "YES", "TRUE") for f in flags)


def _quiet() -> None:
    """lm-eval logs a warning per default it fills in; junkdna's stderr is for errors."""
    for name in ("lm_eval", "lm-eval"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Harness:
    """lm-eval tasks, checked and loaded once; ``run(model, tokenizer)`` scores a model."""

    def __init__(
        self,
        tasks: Sequence[str],
        include_path: str | os.PathLike | None = None,
        limit: int | None = None,
        batch_size: int = 8,
    ):
        require_lm_eval()
        _quiet()
        from lm_eval.tasks import TaskManager

        self.tasks = [t.strip() for t in tasks if t.strip()]
        if not self.tasks:
            raise JunkDNAError("--harness lm-eval needs --tasks NAME[,NAME...] (lm-eval's names)")
        self.limit, self.batch_size = limit, batch_size
        self.manager = TaskManager(include_path=None if include_path is None else str(include_path))
        known = set(self.manager.all_tasks)
        for t in self.tasks:
            if t not in known:
                raise unknown("lm-eval task", t, sorted(known))
        self._check_data()

    def _check_data(self) -> None:
        """Load each task's data now (cached after), so a missing one fails before the model."""
        from lm_eval.tasks import get_task_dict

        for t in self.tasks:
            try:
                get_task_dict([t], self.manager)
            except Exception as e:  # datasets and the hub raise many types; the cause is kept
                if _offline():
                    raise JunkDNAError(
                        f"lm-eval task {t!r}: its data is not cached and the Hugging Face hub is "
                        "offline (HF_DATASETS_OFFLINE/HF_HUB_OFFLINE); run once with the hub "
                        f"to cache it ({type(e).__name__})"
                    ) from e
                raise JunkDNAError(
                    f"lm-eval task {t!r}: its data could not be loaded "
                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
                ) from e

    def run(self, model, tokenizer, device=None, log_samples: bool = False) -> dict[str, Any]:
        """{task: {acc, acc_norm, n, seconds}} (plus ``samples``: lm-eval's per-item records
        when ``log_samples``). The model is scored as it is in memory."""
        import lm_eval
        from lm_eval.models.huggingface import HFLM

        start = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            kw = {} if device is None else {"device": str(device)}
            lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=self.batch_size, **kw)
            res = lm_eval.simple_evaluate(
                model=lm,
                tasks=list(self.tasks),
                task_manager=self.manager,
                num_fewshot=0,
                limit=self.limit,
                log_samples=log_samples,
                bootstrap_iters=0,
                verbosity="ERROR",
            )
        finally:
            model.train(was_training)
        seconds = round(time.perf_counter() - start, 3)
        out: dict[str, Any] = {}
        for t in self.tasks:
            r = res["results"].get(t, {})
            scores = {m: r.get(f"{m},none") for m in METRICS}
            n = res.get("n-samples", {}).get(t, {}).get("effective")
            out[t] = {**scores, "n": n, "seconds": seconds}
            if log_samples:
                out[t]["samples"] = res["samples"].get(t, [])
        return out


def local_task(
    folder: str | os.PathLike,
    name: str,
    data_file: str | os.PathLike,
    text_field: str = "text",
    choices_field: str = "choices",
    label_field: str = "label",
) -> Path:
    """Write ``folder/<name>.yaml``: an lm-eval multiple-choice task over a local JSONL file
    (context ``{text}``, choices ``{choices}``, gold index ``label``, lm-eval's ``acc`` and
    ``acc_norm``). Give ``folder`` to ``Harness(include_path=...)``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps(str(Path(data_file).resolve()))
    text = (
        f"task: {name}\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {data}\n"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        f'doc_to_text: "{{{{{text_field}}}}}"\n'
        f'doc_to_choice: "{{{{{choices_field}}}}}"\n'
        f"doc_to_target: {label_field}\n"
        "metric_list:\n"
        "  - metric: acc\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
        "  - metric: acc_norm\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
    )
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path
