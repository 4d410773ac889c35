# Two commands for a fresh machine: `make run` (the demo hall) and `make test` (every test).
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST    ?= 127.0.0.1
PORT    ?= 8000
DEMO    ?= 1

.PHONY: run test bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# The demo hall lives: `hall simulate --live` takes tickets and works windows 2, 3, 5 and 12
# over HTTP (docs/simulator.md) and stops with the server (it watches the server's pid: the
# shell's, which `exec` hands on). `make run DEMO=0` serves the demo hall quiet.
run: $(STAMP)
	bash scripts/system-deps.sh run
	$(PY) scripts/demo_accounts.py --db var/hall.db
	if [ "$(DEMO)" != "0" ]; then \
	  $(PY) -m hall simulate --live --config config.toml --url http://$(HOST):$(PORT) \
	    --accounts var/demo-accounts.txt --server-pid $$$$ & \
	fi; \
	exec $(PY) -m hall serve --config config.toml --db var/hall.db --host $(HOST) --port $(PORT) --no-hours

test: $(STAMP)
	bash scripts/system-deps.sh test
	$(PY) -m ruff check .
	$(PY) -m pytest -q
	$(PY) -m pytest -q --backend=postgresql

bench: $(STAMP)
	bash scripts/system-deps.sh bench
	$(PY) bench/simulate.py
	$(PY) bench/run.py
	$(PY) -m bench.cluster

screenshots: $(STAMP)
	bash scripts/system-deps.sh test
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
