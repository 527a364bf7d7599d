# The two commands of the README: `make demo` and `make test`. Both create and reuse .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed
export SAE_FORECAST_DATA ?= $(abspath ../shared/data)
export PYTHONUNBUFFERED := 1

.PHONY: install demo test test-fast lint format docs bench-speed bench-docs clean

$(STAMP): pyproject.toml setup.cfg constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e ".[test,docs,distributed,ray,onnx]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sae_forecast.bench accuracy --preset quick --datasets ETTh1 beijing_air --backbones RLinear iTransformer --embeddings shared lightsae --horizons 96 --out demo_out
	$(PY) examples/forecast_intervals.py --out demo_out

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench-speed: $(STAMP)
	$(PY) -m sae_forecast.bench speed --out docs/benchmarks

# Regenerates every generated page of docs/ (hours on 2 cores; run on an idle machine):
# `python -m sae_forecast.bench <study>` computes the cells not yet in the study's records
# (runs.jsonl, or speed/overhead/scaling.jsonl in docs/benchmarks), then writes the page from
# the records alone: delete a record file to measure again.
BENCH := $(PY) -m sae_forecast.bench
BF16 := --preset results --datasets ETTh1 --backbones iTransformer PatchTST \
	--embeddings shared lightsae --horizons 96 --precision fp32 bf16
CALIBRATION := --datasets ETTh1 Weather beijing_air --methods conformal quantile --peer-windows 12 \
	--peer-refits 4 --peer-channels 2 --threads 1 --out docs/benchmarks/intervals
bench-docs: $(STAMP)
	$(BENCH) speed --out docs/benchmarks
	$(BENCH) overhead --out docs/benchmarks
	$(BENCH) accuracy $(BF16) --out docs/benchmarks/bf16
	$(BENCH) accuracy --preset results --out docs
	$(BENCH) accuracy --preset reference --out docs/reference
	$(BENCH) accuracy --preset reference_pooled --out docs/reference_pooled
	$(BENCH) analysis --results docs/runs.jsonl --out docs/analysis
	$(BENCH) gaps --epochs-itransformer 2 --cost --out docs/benchmarks/gaps
	$(BENCH) fleet --backbones RLinear --embeddings lightsae --stations 4 --out docs/benchmarks/fleet
	# the neuralforecast rows need neuralforecast (not a dependency): see docs/intervals.md
	$(BENCH) calibration --backbones RLinear iTransformer $(CALIBRATION)
	$(BENCH) scaling --batches 2 --threads 1 --out docs/benchmarks
	$(BENCH) memory --threads 2 --out docs/benchmarks/memory
	$(BENCH) covariates --out docs/benchmarks/covariates
	$(BENCH) deploy --threads 1 --out docs/benchmarks/deploy
	# installs neuralforecast into .peer-envs/ (a throwaway environment, never a dependency)
	$(BENCH) peers --threads 2 --out docs/benchmarks/peers

clean:
	rm -rf $(VENV) docs/_build demo_out bench_out
