"""`junkdna compare MODEL --methods magnitude,wanda,sparsegpt --sparsity 0.5
--structure unstructured,2:4 --out DIR`: the dense model and every (method, structure), each
loaded fresh, pruned in memory and measured the same way (perplexity, zero-shot accuracy, time to
prune, peak memory); DIR gets table.md, table.csv, comparison.png/.svg and results.json."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from junkdna.commands.ppl import add_eval_arguments
from junkdna.commands.prune import add_pruning_arguments


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "compare",
        help="dense vs pruned: perplexity, zero-shot accuracy, time and memory, as a table",
        description="Measure MODEL dense and pruned by each method in --methods with each "
        "structure in --structure (a fresh copy each time, pruned in memory): perplexity on "
        "--dataset, zero-shot accuracy on --zeroshot, time to prune and peak memory. Writes "
        "DIR/table.md, table.csv, comparison.png (and .svg) and results.json, all or nothing.",
        conflict_handler="resolve",  # --methods/--structure/--scope/--seqlen replace prune's
        examples=[
            "junkdna compare smollm2-135m --methods magnitude,wanda --sparsity 0.5 --nsamples 16 --windows 4 --zeroshot-limit 20 --out out/cmp",
        ],
    )
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias (smollm2-135m)")
    g = p.add_argument_group("pruning")
    add_pruning_arguments(g)
    g.add_argument(
        "--methods",
        "--method",
        dest="methods",
        default="magnitude,wanda,sparsegpt",
        help="comma-separated pruning methods",
    )
    g.add_argument(
        "--structure",
        dest="structures",
        default="unstructured",
        help="comma-separated structures: unstructured and/or N:M",
    )
    g.add_argument(
        "--scope",
        default=None,
        help="one scope for every method, or METHOD=SCOPE,... (e.g. magnitude=layer, the field's "
        "magnitude baseline); default: each method's own; N:M ignores it",
    )
    g.add_argument(
        "--budget",
        dest="budgets",
        action="append",
        default=None,
        help="a layer budget for every method (uniform, owl, 'owl:M=5,lambda=0.08', 'linear:D', "
        "'0.3,0.5,0.7' or a .json list); repeat it for one row per budget, e.g. --budget "
        "uniform --budget owl (rows 'wanda' and 'wanda+owl')",
    )
    from junkdna.tasks.zeroshot import OFFLINE_DEFAULT

    add_eval_arguments(p, zeroshot=",".join(OFFLINE_DEFAULT))
    h = p.add_argument_group("the field's harness (optional: pip install 'junkdna[harness]')")
    h.add_argument(
        "--harness",
        choices=["lm-eval"],
        default=None,
        help="also score every row with lm-evaluation-harness's own --tasks, in memory "
        "(columns lmeval_TASK_acc, _acc_norm)",
    )
    h.add_argument("--tasks", default="", help="comma-separated lm-eval task names (arc_easy,...)")
    h.add_argument(
        "--include-path",
        type=Path,
        default=None,
        help="a folder of your own lm-eval task YAMLs (as lm_eval --include_path)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    return p


def _split(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


def parse_scopes(text: str | None, methods: list[str]) -> dict[str, str | None]:
    from junkdna.errors import JunkDNAError

    if not text:
        return dict.fromkeys(methods)
    if "=" not in text:
        return dict.fromkeys(methods, text.strip())
    out: dict[str, str | None] = dict.fromkeys(methods)
    for item in _split(text):
        m, eq, s = item.partition("=")
        if not eq or m.strip() not in methods:
            raise JunkDNAError(
                f"--scope item {item!r} is not METHOD=SCOPE for one of --methods "
                f"({', '.join(methods)})"
            )
        out[m.strip()] = s.strip()
    return out


def configurations(args) -> list[dict[str, Any]]:
    """(method, structure, sparsity, scope, budget) for each pruned row, checked before any
    model loads: N:M implies its sparsity (and layer scope); unstructured needs --sparsity. A
    row's ``label`` is its method, with a non-uniform budget appended ("wanda+owl")."""
    from junkdna.errors import JunkDNAError
    from junkdna.pruning import METHODS, Structure, resolve_rule
    from junkdna.pruning.budgets import parse_budget

    methods, structures = _split(args.methods), _split(args.structures)
    if not methods or not structures:
        raise JunkDNAError("--methods and --structure need at least one name each")
    scopes = parse_scopes(args.scope, methods)
    budgets = [parse_budget(b) for b in (getattr(args, "budgets", None) or [None])]
    rows = []
    for m in methods:
        for s in structures:
            for b in budgets:
                nm = Structure.parse(s).is_nm
                sparsity = None if nm else args.sparsity
                scope = None if nm else scopes[m]
                rule = resolve_rule(METHODS.get(m), sparsity, s, scope, b)
                label = m if b.is_uniform else f"{m}+{b.label()}"
                rows.append({"method": m, "structure": str(rule.structure), "sparsity": sparsity,
                             "scope": scope, "rule_scope": rule.scope, "label": label,
                             "budget": None if b.is_uniform else b.config()})  # fmt: skip
    return rows


def _command_line() -> str:
    if Path(sys.argv[0]).name in ("junkdna", "__main__.py"):
        return shlex.join(["junkdna", *sys.argv[1:]])
    return ""


def run(args) -> int:
    import gc

    from junkdna.commands.ppl import (
        check_eval_args,
        load_causal_lm,
        measure,
        prune_in_memory,
        pruning_namespace,
        runtime,
        zero_shot_line,
    )
    from junkdna.evaluate.perplexity import check_seqlen, default_seqlen, token_stream
    from junkdna.evaluate.readings import PeakMemory
    from junkdna.evaluate.texts import load_eval_text
    from junkdna.evaluate.zeroshot import encode_items
    from junkdna.heads.batching import pad_id
    from junkdna.memory import Releaser
    from junkdna.models import load_tokenizer
    from junkdna.paths import check_writable_folder, staged_folder
    from junkdna.provenance import versions
    from junkdna.study.config import Calibration
    from junkdna.tasks.zeroshot import zero_shot_items

    tasks = check_eval_args(args)
    configs = configurations(args)
    check_writable_folder(args.out, "--out")
    harness = _harness(args)  # lm-eval present, its tasks known and their data at hand
    device, dtype, precision = runtime(args)
    text = load_eval_text(args.dataset)
    if args.windows is None and text.max_windows is not None:
        args.windows = text.max_windows
    sets = zero_shot_items(tasks, args.zeroshot_limit)
    tokenizer = load_tokenizer(args.model)
    stream = token_stream(tokenizer, text.text)
    zero_shot = [encode_items(tokenizer, s.task, s.items) for s in sets]
    pid = pad_id(tokenizer)

    rows: list[dict[str, Any]] = []
    seqlen = args.seqlen
    t_all = time.perf_counter()
    for i, cfg in enumerate([None, *configs]):
        label = "dense" if cfg is None else f"{cfg['label']} {cfg['structure']}"
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            model = load_causal_lm(args.model, dtype)
            load_s = time.perf_counter() - t0
            if seqlen is None:
                seqlen = default_seqlen(model)
            check_seqlen(seqlen, model)
            prune = None
            if cfg is not None:
                ns = pruning_namespace(
                    args, cfg["method"], cfg["structure"], cfg["sparsity"], cfg["scope"],
                    args.calib_seqlen or seqlen,
                )  # fmt: skip
                ns.device = str(device)
                ns.budget = cfg["budget"]
                prune = prune_in_memory(model, args.model, ns)
            result = measure(model, stream, seqlen, args, zero_shot, device, pid, label)
            if harness is not None:
                result["harness"] = harness.run(model, tokenizer, device)
        row = {
            "method": "dense" if cfg is None else cfg["label"],  # e.g. "wanda+owl"
            "structure": "" if cfg is None else cfg["structure"],
            "scope": "" if cfg is None else (prune["scope"] or ""),
            "sparsity": result["sparsity"],
            "perplexity": result["perplexity"],
            **{
                f"{t}_{k}": s[k]
                for t, s in result["zero_shot"].items()
                for k in ("acc", "acc_norm", "acc_token")
            },
            **mean_accuracy(result["zero_shot"]),
            **{
                f"lmeval_{t}_{k}": s[k]
                for t, s in result.get("harness", {}).items()
                for k in ("acc", "acc_norm")
            },
            "prune_s": 0.0 if prune is None else prune["prune_s"],
            "load_s": round(load_s, 3),
            "eval_s": round(
                result["seconds"] + sum(s["seconds"] for s in result["zero_shot"].values()), 3
            ),
            **{k: v for k, v in mem.as_dict().items()},
            "_result": result,
            "_pruning": prune,
        }
        rows.append(row)
        zs = zero_shot_line(result["zero_shot"])
        print(
            f"[{i + 1}/{len(configs) + 1}] {label}: sparsity {row['sparsity']:.4f}, perplexity "
            f"{row['perplexity']:.3f}" + (f"; {zs}" if zs else "") + f"; prune "
            f"{row['prune_s']:.1f}s, peak {row['cpu_peak_mb']:.0f} MB",
            flush=True,
        )
        del model
        gc.collect()
        Releaser(every=0).step(1)

    first = rows[0]["_result"]
    meta = {
        "model": args.model,
        "dataset": text.name,
        "dataset_source": text.source,
        "seqlen": seqlen,
        "windows": first["windows"],
        "tokens": first["tokens"],
        "stream_tokens": first["stream_tokens"],
        "partial": args.partial,
        "zero_shot": {e.task: len(e.labels) for e in zero_shot},
        "zero_shot_sets": {s.task: s.info() for s in sets},
        "chance": {s.task: s.chance for s in sets},
        "calibration": {
            "source": args.calibration,
            "nsamples": args.nsamples or Calibration().nsamples,  # None: the default
            "seqlen": args.calib_seqlen or seqlen,
            "seed": args.seed,
        },  # fmt: skip
        "device": str(device),
        "precision": precision,
        "total_s": round(time.perf_counter() - t_all, 1),
        "command": _command_line(),
        "harness": None if harness is None else {"name": args.harness, "tasks": harness.tasks},
    }
    with staged_folder(args.out, "--out") as stage:
        (stage / "table.md").write_text(markdown_table(rows, meta, tasks))
        (stage / "table.csv").write_text(csv_table(rows))
        results = {"meta": meta, "versions": versions(), "rows": [_public(r) for r in rows]}
        (stage / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        from junkdna.analysis.plots import save_figure

        save_figure(comparison_figure(rows, meta, tasks), stage, "comparison")
    print(f"{len(rows)} rows in {meta['total_s']:.0f}s -> {args.out}/table.md")
    return 0


def _harness(args):
    """The lm-eval Harness of ``--harness lm-eval --tasks ...`` (checked now), or None."""
    from junkdna.errors import JunkDNAError

    if args.harness is None:
        if args.tasks:
            raise JunkDNAError("--tasks names lm-eval tasks: give --harness lm-eval with it")
        return None
    from junkdna.evaluate.harness import Harness

    return Harness(_split(args.tasks), args.include_path, args.zeroshot_limit, args.batch_size or 8)


def mean_accuracy(scores: dict[str, dict]) -> dict[str, float]:
    """``mean_acc``: the unweighted mean of the tasks' ``acc`` (the "Mean" column of the Wanda
    paper's zero-shot tables), where there are two tasks or more."""
    if len(scores) < 2:
        return {}
    return {"mean_acc": sum(s["acc"] for s in scores.values()) / len(scores)}


def _public(row: dict) -> dict:
    out = {k: v for k, v in row.items() if not k.startswith("_")}
    out["pruning"] = row["_pruning"]
    out["perplexity_detail"] = {k: v for k, v in row["_result"].items() if k != "zero_shot"}
    out["zero_shot"] = row["_result"]["zero_shot"]
    return out


COLUMNS = ["method", "structure", "scope", "sparsity", "perplexity"]
TAIL = ["prune_s", "eval_s", "cpu_peak_mb", "gpu_peak_mb"]


def _columns(rows: list[dict]) -> list[str]:
    zs = [k for k in rows[0] if k.endswith(("_acc", "_acc_norm", "_acc_token"))]
    return COLUMNS + zs + TAIL


def csv_table(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_columns(rows), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in _columns(rows)})
    return buf.getvalue()


def _fmt(key: str, v) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        if key == "perplexity":
            return f"{v:.2f}"
        if key == "sparsity" or "_acc" in key:
            return f"{v:.3f}"
        if key.endswith("_mb"):
            return f"{v:,.0f}"
        return f"{v:.1f}"
    return str(v)


def markdown_table(rows: list[dict], meta: dict, tasks: list[str]) -> str:
    cols = [c for c in _columns(rows) if not c.endswith("_acc_token")]
    if meta["device"] == "cpu":
        cols = [c for c in cols if c != "gpu_peak_mb"]
    lines = [
        f"# {meta['model']}: dense vs pruned",
        "",
        f"Perplexity on `{meta['dataset']}` ({meta['dataset_source']}): {meta['windows']} "
        f"windows of {meta['seqlen']} tokens, {meta['tokens']:,} predicted tokens of "
        f"{meta['stream_tokens']:,}{' (partial window kept)' if meta['partial'] else ''}; "
        f"{meta['device']}, {meta['precision']}. Calibration: {json.dumps(meta['calibration'])}.",
    ]
    if tasks:
        lines.append(
            "Zero-shot: " + ", ".join(
                f"`{t}` ({n} {meta['zero_shot_sets'][t]['split']} items)"
                for t, n in meta["zero_shot"].items()
            ) + "; acc = summed log-likelihood, acc_norm = per character (lm-eval's)."
        )  # fmt: skip
    if meta["command"]:
        lines += ["", f"`{meta['command']}` ({meta['total_s']:.0f} s in all)"]
    lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(c, r.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def comparison_figure(rows: list[dict], meta: dict, tasks: list[str]):
    """Perplexity (log scale) and zero-shot accuracy per configuration, dense first."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = ["dense" if r["method"] == "dense" else f"{r['method']}\n{r['structure']}"
              for r in rows]  # fmt: skip
    panels = 1 + bool(tasks)
    fig = Figure(figsize=(max(4.5, 0.9 * len(rows)) * panels, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    x = list(range(len(rows)))
    ppl = [r["perplexity"] for r in rows]
    ax = axes[0]
    ax.bar(x, ppl, color=["grey"] + ["C0"] * (len(rows) - 1))
    ax.set_yscale("log")
    ax.axhline(ppl[0], ls="--", lw=1, color="grey", label="dense")
    for xi, v in zip(x, ppl, strict=True):
        ax.annotate(f"{v:.1f}", (xi, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel(f"perplexity ({meta['dataset']}, seqlen {meta['seqlen']}; log scale)")
    ax.set_title("perplexity (lower is better)", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    if tasks:
        ax2 = axes[1]
        width = 0.8 / len(tasks)
        for k, t in enumerate(tasks):
            acc = [r.get(f"{t}_acc", float("nan")) for r in rows]
            bars = ax2.bar([xi + (k - (len(tasks) - 1) / 2) * width for xi in x], acc, width,
                           label=t)  # fmt: skip
            chance = meta.get("chance", {}).get(t)
            if chance is not None:
                ax2.axhline(chance, ls=":", lw=1, color=bars.patches[0].get_facecolor(),
                            label=f"{t} chance", zorder=3)  # fmt: skip
        ax2.set_xticks(x, labels, fontsize=7)
        ax2.set_ylabel("zero-shot accuracy (acc)")
        ax2.set_ylim(0, 1)
        ax2.set_title("zero-shot accuracy (higher is better)", fontsize=9)
        ax2.grid(alpha=0.3, axis="y")
        ax2.legend(fontsize=7)
    fig.suptitle(f"{meta['model']}: dense vs pruned", fontsize=10)
    width = fig.get_figwidth()
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.2 / width, bottom=0.22, top=0.85,
                        wspace=0.3)  # fmt: skip
    return fig
