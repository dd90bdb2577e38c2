# Every target builds .venv itself, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve test fuzz bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The five commands on PATH: links in $(BINDIR) to the scripts in .venv/bin (whose first line
# names .venv's interpreter, so a link runs them as they are).
BINDIR   ?= $(HOME)/.local/bin
COMMANDS := gatewise gatewise-routing-gateway gatewise-portkey-admin gatewise-openrouter-multimodal \
            gatewise-openrouter-search

install: $(STAMP)
	mkdir -p "$(BINDIR)"
	for c in $(COMMANDS); do ln -sf "$(abspath $(BIN))/$$c" "$(BINDIR)/$$c"; done
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; \
	  *) echo "$(BINDIR) is not on PATH: add  export PATH=\"$(BINDIR):\$$PATH\"  to your shell profile";; esac

demo: $(STAMP)
	$(BIN)/gatewise demo

serve: $(STAMP)
	$(BIN)/gatewise serve --host 127.0.0.1 --port $(or $(PORT),8000)

# One worker per core (pytest-xdist): many tests wait on a child process or a socket. Each file
# stays on one worker, so a module's server or parsed spec is set up once.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# Every tool of every server with 200+ generated and hostile arguments each; prints the table.
fuzz: $(STAMP)
	GATEWISE_FUZZ_PROFILE=thorough $(BIN)/python -m pytest -q tests/fuzz

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/chaos.py
	$(BIN)/python bench/routing_replay.py
	$(BIN)/python bench/analysis_eval.py --split test
	$(BIN)/python bench/images.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/pii_eval.py
	$(BIN)/python bench/guardrails.py
	$(BIN)/python bench/cache_replay.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/dashboard.py

# ruff, then mypy --strict (with the pydantic plugin) over the files named in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check shared servers sandbox tests bench scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
