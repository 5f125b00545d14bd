"""junkdna's SparseGPT and Wanda side by side with llm-compressor's (the field's tool), on
SmolLM2-135M: the same calibration windows (junkdna's default text, seed 0), sample count,
sequence length and sparsity (50% unstructured and 2:4), the same held-out text for perplexity.

    python benchmarks/peers.py [--nsamples 32 --seqlen 512 --windows 16]    (make bench-peers)

llm-compressor (0.14.0.1) pins transformers <= 5.17, so it runs in a side environment that this
script sets up once: ``$JUNKDNA_HOME/peers-venv`` (``python3 -m venv``; CPU torch==2.13.0 first,
then llmcompressor with a torch==2.13.0 constraint so nothing pulls a CUDA build). It loads the
de-quantized SmolLM2 folder junkdna keeps in its cache (plain fp32 safetensors). Each pruning run,
junkdna's and the peer's, is a fresh process: wall time of the pruning call alone, peak resident
memory during it (the high-water mark reset after loading) and the pruned weights (saved). This
process then measures every pruned model the same way: perplexity on junkdna's default held-out
text, and how far the masks agree (fraction of identical kept/pruned entries; Jaccard of the
pruned sets) over the prunable projections (the decoder blocks' Linear layers; lm_head and the
embeddings are skipped by both).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

PEER_VERSION = "llmcompressor==0.14.0.1"
TORCH = "torch==2.13.0"
CONFIGS = [("sparsegpt", "unstructured"), ("sparsegpt", "2:4"), ("wanda", "unstructured"),
           ("wanda", "2:4")]  # fmt: skip


# ----------------------------------------------------------------------------- shared by workers


def _rss_peak_kb() -> int:
    m = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _save_prunable(model, path: Path) -> None:
    """The decoder blocks' Linear weights (what both tools prune)."""
    import torch
    from safetensors.torch import save_file

    out = {}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and ".layers." in name:
            out[name + ".weight"] = mod.weight.detach().contiguous().cpu()
    save_file(out, str(path))


# ----------------------------------------------------------------------------- workers


def worker_peer(a) -> None:
    """Runs in the side environment (llm-compressor; no junkdna)."""
    import torch
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.pruning import SparseGPTModifier, WandaPruningModifier
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(a.threads)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    windows = torch.load(a.windows_file)
    ds = Dataset.from_dict(
        {"input_ids": windows.tolist(), "attention_mask": torch.ones_like(windows).tolist()}
    )
    structure = "0:0" if a.structure == "unstructured" else a.structure  # 2:4 = 2 of 4 zero
    common = {"sparsity": 0.5, "mask_structure": structure, "targets": ["Linear"],
              "ignore": ["re:.*lm_head"]}  # fmt: skip
    if a.method == "sparsegpt":
        mod = SparseGPTModifier(**common, block_size=128, dampening_frac=0.01)
    else:
        mod = WandaPruningModifier(**common)
    _reset_peak()
    base = _rss_peak_kb()
    t0 = time.perf_counter()
    oneshot(model=model, dataset=ds, recipe=[mod], num_calibration_samples=len(windows),
            max_seq_length=windows.shape[1], shuffle_calibration_samples=False,
            log_dir=None)  # fmt: skip
    seconds = time.perf_counter() - t0
    _save_prunable(model, Path(a.weights))
    stats = {"prune_s": seconds, "peak_mb": _rss_peak_kb() / 1024, "load_mb": base / 1024}
    Path(a.stats).write_text(json.dumps(stats))


def worker_junkdna(a) -> None:
    import torch

    from junkdna.models import load_model, load_tokenizer
    from junkdna.pruning import prune_calibrated

    torch.set_num_threads(a.threads)
    model, tok = load_model(a.model), load_tokenizer(a.model)
    cal = {"source": "default", "nsamples": a.nsamples, "seqlen": a.seqlen, "seed": 0}
    nm = a.structure != "unstructured"
    _reset_peak()
    base = _rss_peak_kb()
    t0 = time.perf_counter()
    masks = prune_calibrated(model, tok, a.method, cal, sparsity=None if nm else 0.5,
                             structure=a.structure)  # fmt: skip
    seconds = time.perf_counter() - t0
    _save_prunable(model, Path(a.weights))
    stats = {"prune_s": seconds, "peak_mb": _rss_peak_kb() / 1024, "load_mb": base / 1024,
             "scope": masks.metadata["scope"], "options": masks.metadata["options"]}  # fmt: skip
    Path(a.stats).write_text(json.dumps(stats, default=str))


# ----------------------------------------------------------------------------- the driver


def _fail(msg: str) -> None:
    print(f"bench-peers: {msg}", file=sys.stderr)
    sys.exit(2)


def side_env(home: Path) -> Path:
    """The side environment's python, set up on first use."""
    venv = home / "peers-venv"
    py = venv / "bin" / "python"
    probe = [str(py), "-c", "import llmcompressor"]
    if py.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    constraints = home / "peers-constraints.txt"
    constraints.parent.mkdir(parents=True, exist_ok=True)
    constraints.write_text(TORCH + "\n")
    steps = [
        ["python3", "-m", "venv", str(venv)],
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", TORCH],
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c",
         str(constraints), PEER_VERSION],
    ]  # fmt: skip
    print(f"setting up {PEER_VERSION} in {venv} (once) ...", flush=True)
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["?"])[-1]
            _fail(f"could not install {PEER_VERSION} in {venv}: `{' '.join(cmd[-1:])}`: {last}")
    if subprocess.run(probe, capture_output=True).returncode != 0:
        _fail(f"{PEER_VERSION} installed in {venv} but does not import")
    return py


def _run(py: str, role: str, method: str, structure: str, a, work: Path) -> dict:
    tag = f"{role}-{method}-{structure.replace(':', 'of')}"
    weights, stats = work / f"{tag}.safetensors", work / f"{tag}.json"
    cmd = [py, __file__, "--worker", role, "--method", method, "--structure", structure,
           "--model", a.model_dir, "--windows-file", str(work / "windows.pt"), "--weights",
           str(weights), "--stats", str(stats), "--nsamples", str(a.nsamples), "--seqlen",
           str(a.seqlen), "--threads", str(a.threads)]  # fmt: skip
    env = dict(os.environ)
    if role == "llmcompressor":
        env.pop("PYTHONPATH", None)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        tail = " | ".join(r.stderr.strip().splitlines()[-3:])
        _fail(f"{role} {method} {structure} failed: {tail}")
    return {**json.loads(stats.read_text()), "weights": str(weights)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=["junkdna", "llmcompressor"])
    p.add_argument("--method")
    p.add_argument("--structure")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--windows-file")
    p.add_argument("--weights")
    p.add_argument("--stats")
    p.add_argument("--nsamples", type=int, default=32)
    p.add_argument("--seqlen", type=int, default=512)
    p.add_argument("--windows", type=int, default=16, help="held-out windows for perplexity")
    p.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--configs", default=",".join(f"{m}@{s}" for m, s in CONFIGS))
    a = p.parse_args()
    if a.worker == "llmcompressor":
        return worker_peer(a)
    if a.worker == "junkdna":
        return worker_junkdna(a)

    import torch

    from junkdna.evaluate.perplexity import perplexity, token_stream
    from junkdna.evaluate.texts import load_eval_text
    from junkdna.models import load_model, load_tokenizer, resolve
    from junkdna.models.loading import local_ref
    from junkdna.paths import home
    from junkdna.pruning.calibration import calibration_from_source

    torch.set_num_threads(a.threads)
    py = side_env(home())
    work = home() / "peers"
    work.mkdir(parents=True, exist_ok=True)
    a.model_dir = local_ref(resolve(a.model))  # the de-quantized fp32 folder
    tok = load_tokenizer(a.model)
    windows = calibration_from_source(tok, "default", a.nsamples, a.seqlen, 0)
    torch.save(windows.clone(), work / "windows.pt")
    text = load_eval_text("boolq_wiki")
    stream = token_stream(tok, text.text)
    model = load_model(a.model).eval()
    dense = {n: t.clone() for n, t in model.state_dict().items()}

    def ppl(weights: str | None) -> float:
        from safetensors.torch import load_file

        model.load_state_dict(dense)
        if weights:
            model.load_state_dict(load_file(weights), strict=False)
        with torch.inference_mode():
            return perplexity(model, stream, a.seqlen, max_windows=a.windows).perplexity

    rows = []
    dense_ppl = ppl(None)
    for item in a.configs.split(","):
        method, structure = item.split("@")
        ours = _run(sys.executable, "junkdna", method, structure, a, work)
        peer = _run(str(py), "llmcompressor", method, structure, a, work)
        from safetensors.torch import load_file

        wa, wb = load_file(ours["weights"]), load_file(peer["weights"])
        same = total = inter = union = 0
        for n in wa:
            pa, pb = wa[n] == 0, wb[n] == 0
            same += int((pa == pb).sum())
            total += pa.numel()
            inter += int((pa & pb).sum())
            union += int((pa | pb).sum())
        pj, pp = ppl(ours["weights"]), ppl(peer["weights"])
        rows.append({"method": method, "structure": structure, "ppl_junkdna": pj, "ppl_peer": pp,
                     "prune_s_junkdna": ours["prune_s"], "prune_s_peer": peer["prune_s"],
                     "peak_mb_junkdna": ours["peak_mb"], "peak_mb_peer": peer["peak_mb"],
                     "agree": same / total, "jaccard": inter / union,
                     "sparsity_junkdna": sum(int((t == 0).sum()) for t in wa.values()) / total,
                     "sparsity_peer": sum(int((t == 0).sum()) for t in wb.values()) / total,
                     "junkdna_scope": ours.get("scope")})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    (work / "results.json").write_text(json.dumps({"dense_ppl": dense_ppl, "rows": rows,
                                                   "args": vars(a)}, indent=2))  # fmt: skip
    print(
        f"\nSmolLM2-135M, fp32, CPU ({a.threads} threads); calibration {a.nsamples} x "
        f"{a.seqlen} tokens (junkdna's default text, seed 0); perplexity on boolq_wiki, "
        f"{a.windows} windows of {a.seqlen}; dense perplexity {dense_ppl:.2f}\n"
    )
    print(
        "| method | structure | ppl junkdna | ppl llm-compressor | ratio | prune s junkdna | "
        "prune s peer | speed-up | peak MB junkdna | peak MB peer | masks agree | Jaccard |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['structure']} | {r['ppl_junkdna']:.2f} | {r['ppl_peer']:.2f} "
              f"| {r['ppl_junkdna'] / r['ppl_peer']:.4f} | {r['prune_s_junkdna']:.1f} | "
              f"{r['prune_s_peer']:.1f} | {r['prune_s_peer'] / r['prune_s_junkdna']:.2f}x | "
              f"{r['peak_mb_junkdna']:,.0f} | {r['peak_mb_peer']:,.0f} | {r['agree']:.4f} | "
              f"{r['jaccard']:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
