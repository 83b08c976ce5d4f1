# mnist-tfx: `make run` trains and ships the default model, `make test` runs the tests.
# Both create or reuse .venv/ (see scripts/setup_venv.sh).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
ARGS ?=
PYTEST_ARGS ?=
# The workplace's copies of MNIST and Fashion-MNIST, used when neither --data-dir nor the variables say otherwise.
MNIST_DIR ?= $(wildcard $(abspath ../shared/data/mnist))
FASHION_MNIST_DIR ?= $(wildcard $(abspath ../shared/data/fashion_mnist))
export MNIST_DIR FASHION_MNIST_DIR
export TF_USE_LEGACY_KERAS := 1

.PHONY: setup run test clean bench bench-accuracy bench-tflite bench-retraining bench-kfp-downloads bench-startup bench-scale bench-best-epoch

# The venv (scripts/setup_venv.sh), then chromium, Node.js and the browser tests' npm packages.
setup:
	@bash scripts/setup_venv.sh
	@bash scripts/setup_browser.sh

run: setup
	$(VENV)/bin/mnist-tfx run $(ARGS)

test: setup
	$(PYTHON) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf out .pytest_cache

# Benchmarks (not part of `make test`); results are written to benchmarks/results/.
bench: setup
	$(PYTHON) benchmarks/pipeline_vs_script.py $(ARGS)

bench-accuracy: setup
	$(PYTHON) benchmarks/accuracy.py $(ARGS)

bench-tflite: setup
	$(PYTHON) benchmarks/tflite.py $(ARGS)

bench-retraining: setup
	$(PYTHON) benchmarks/retraining.py $(ARGS)

bench-kfp-downloads: setup
	$(PYTHON) benchmarks/kfp_downloads.py $(ARGS)

# Start-up with 10 spans of 2,000 PNGs against another checkout: make bench-startup ARGS="--before DIR"
bench-startup: setup
	$(PYTHON) benchmarks/startup.py $(ARGS)

# 1x to 8x MNIST's training images, and a night's run with 1, 10 and 50 spans: make bench-scale [ARGS="--part sizes"]
bench-scale: setup
	$(PYTHON) benchmarks/scale.py $(ARGS)

# Which epoch the Trainer keeps: the default recipe per seed, every epoch on the test images: make bench-best-epoch
bench-best-epoch: setup
	$(PYTHON) benchmarks/best_epoch.py $(ARGS)
