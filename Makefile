# Two commands on a fresh machine: `make demo` and `make test`. Everything else hangs off `venv`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)

.PHONY: venv demo test test-slow lint bench lock clean docs

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# byte-compile Keel as pip does for an installed wheel: with PYTHONDONTWRITEBYTECODE set,
	# every `keel` process would otherwise compile some 200 modules from source (about 0.25 s)
	$(BIN)/python -m compileall -q src/keel >/dev/null
	rm -f $(VENV)/.installed-*
	touch $@

demo: venv
	$(BIN)/keel demo

# Every test but the long real-system suites marked slow (under 15 minutes on 2 cores).
test: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

# The suites marked slow: outages held for 30 s under load, Ray clusters, replicas, the whole
# demo and the longest end-to-end flows. CI runs them after `make test`.
test-slow: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m slow

# docs/configuration.md is generated from the typed models of keel.yaml (a test checks it is current).
docs: venv
	$(BIN)/python -m keel.config_reference

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The peer tools of the benchmarks (pandera, Great Expectations) live in their own venv.
# Evidently and NannyML (benchmarks/drift.py, drift_quality.py, estimation.py) live in a second
# one, .venv-bench-drift: NannyML needs python-dateutil < 3, which the first venv's pins exclude,
# and Evidently 0.7.23 needs pandas < 3. run_all.py hands each script the venv it needs.
BENCH_VENV := .venv-bench
BENCH_REQS := benchmarks/requirements-peers.txt
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat $(BENCH_REQS) | sha256sum | cut -c1-12)
DRIFT_VENV := .venv-bench-drift
DRIFT_REQS := benchmarks/requirements-peers-drift.txt
DRIFT_STAMP := $(DRIFT_VENV)/.installed-$(shell cat $(DRIFT_REQS) | sha256sum | cut -c1-12)

bench: venv $(BENCH_STAMP) $(DRIFT_STAMP)
	$(BIN)/python benchmarks/run_all.py

$(BENCH_STAMP): $(BENCH_REQS)
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r $(BENCH_REQS)
	rm -f $(BENCH_VENV)/.installed-*
	touch $@

$(DRIFT_STAMP): $(DRIFT_REQS)
	test -x $(DRIFT_VENV)/bin/python || $(PYTHON) -m venv $(DRIFT_VENV)
	echo '*' > $(DRIFT_VENV)/.gitignore  # git leaves the venv alone
	$(DRIFT_VENV)/bin/python -m pip install --quiet -r $(DRIFT_REQS)
	rm -f $(DRIFT_VENV)/.installed-*
	touch $@

# Re-pin every dependency (needs uv); commit the new requirements.lock.
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock
	uv pip compile pyproject.toml deploy/requirements.in --extra postgres --extra s3 --extra serve \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  -c requirements.lock -o deploy/requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
