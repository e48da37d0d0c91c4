# LM Notes: `make book` builds the website, `make test` runs every test.
# Both install what they need into $(VENV) first.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch>=2.3

# JavaScript the website serves itself so that pages render offline:
# MathJax for the math, the ipywidgets HTML manager for widget output.
NPM ?= npm
MATHJAX_PKG ?= mathjax@3.2.2
WIDGETS_PKG ?= @jupyter-widgets/html-manager@1.0.15
VENDOR := book/_static/vendor

PY := $(VENV)/bin/python
STAMP := $(VENV)/.lmnotes-installed
VENDOR_STAMP := $(VENDOR)/.fetched

.PHONY: install book test lint seeds clean student warm times repo-url

install: $(STAMP) $(VENDOR_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, so that a pinned or CPU-only wheel is the one the rest builds on.
# Re-runs when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[book,test]"
	touch $@

$(VENDOR_STAMP): Makefile
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mathjax/output/chtml $(VENDOR)/jupyter-widgets
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  (cd "$$tmp" && $(NPM) pack --silent --cache "$$tmp/npm-cache" "$(MATHJAX_PKG)" "$(WIDGETS_PKG)" >/dev/null); \
	  mkdir "$$tmp/mathjax" "$$tmp/widgets"; \
	  tar xzf "$$tmp"/mathjax-*.tgz -C "$$tmp/mathjax"; \
	  tar xzf "$$tmp"/jupyter-widgets-html-manager-*.tgz -C "$$tmp/widgets"; \
	  cp "$$tmp/mathjax/package/es5/tex-chtml-full.js" $(VENDOR)/mathjax/; \
	  cp -r "$$tmp/mathjax/package/es5/output/chtml/fonts" $(VENDOR)/mathjax/output/chtml/; \
	  cp "$$tmp/mathjax/package/LICENSE" $(VENDOR)/mathjax/; \
	  cp "$$tmp/widgets/package/dist/embed.js" $(VENDOR)/jupyter-widgets/; \
	  cp "$$tmp"/widgets/package/dist/*.eot "$$tmp"/widgets/package/dist/*.svg \
	     "$$tmp"/widgets/package/dist/*.ttf "$$tmp"/widgets/package/dist/*.woff \
	     "$$tmp"/widgets/package/dist/*.woff2 "$$tmp/widgets/package/dist/embed.js.LICENSE.txt" \
	     $(VENDOR)/jupyter-widgets/
	touch $@

# Executes the notebooks (cached in _build/.jupyter_cache, so a second build only
# re-runs notebooks that changed, or whose run used other lmnotes source) and writes the
# website to _build/html. `make test` fills the same cache: either reuses the other's runs.
book: install
	$(VENV)/bin/jupyter-book build .

# Lint first: `ruff check` (errors, imports, bug patterns) and `ruff format --check` (the layout).
lint: install
	$(VENV)/bin/ruff check lmnotes tests
	$(VENV)/bin/ruff format --check lmnotes tests

test: install lint
	$(PY) -m pytest

# The student edition: every notebook with its solution cells removed and its checks kept.
student: install
	$(PY) -m lmnotes student book _build/student

# Trains (or loads) every model the book uses into the model cache ($$LMNOTES_CACHE,
# default ~/.cache/lmnotes), so no notebook waits for one in class.
warm: install
	$(PY) -m lmnotes warm

# Measures each notebook with the model cache cold and warm into book/_data/notebook-times.json
# (every notebook runs twice; ONLY=02-elmo measures only the notebooks whose path contains it).
times: install
	$(PY) book/_ext/notebook_times.py $(if $(ONLY),--only $(ONLY))

# After changing repository.url in _config.yml: writes it into the notebooks' setup cells,
# the README's links and pyproject.toml.
repo-url: install
	$(PY) book/_ext/lmnotes_book.py sync-repo-url

# Every notebook at several book seeds (LMNOTES_SEED), each seed with its own model cache, so every
# model is pretrained at that seed too; prints notebook x seed -> pass or the failing check and writes
# _build/seeds.md. Not part of `make test`: hours on a CPU. Narrow it with, for example,
# make seeds SEEDS="0 1" NOTEBOOKS="book/02-elmo/*.ipynb" JOBS=2
SEEDS ?= 0 1 2 3
JOBS ?= 1
NOTEBOOKS ?=
seeds: $(STAMP)
	$(PY) -m lmnotes.seeds --seeds $(SEEDS) --jobs $(JOBS) $(NOTEBOOKS)

clean:
	rm -rf _build $(VENDOR)
