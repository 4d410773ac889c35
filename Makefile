# Two commands for a fresh machine: `make run` (the demo hall) and `make test` (every test).
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: run test bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	bash scripts/system-deps.sh run
	$(PY) scripts/demo_accounts.py --db var/hall.db
	$(PY) -m hall serve --config config.toml --db var/hall.db --host $(HOST) --port $(PORT) --no-hours

test: $(STAMP)
	bash scripts/system-deps.sh test
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run.py

screenshots: $(STAMP)
	bash scripts/system-deps.sh test
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
