# riskdesk — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test lint typecheck pytest bench browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/riskdesk demo

serve: install
	$(BIN)/riskdesk serve

# Debian's Chromium drives the browser tests (`playwright install` cannot download here); a CJK font makes the
# Chinese pages legible in the screenshots the tests take for docs/.
browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qiE 'wenquanyi|noto sans cjk'; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -q && apt-get install -y -q chromium fonts-wqy-microhei) >/dev/null 2>&1 \
	    || echo "could not install chromium; browser tests skip (or fail under RISKDESK_REQUIRE_BROWSER=1)"; \
	else echo "chromium or a CJK font is missing (apt-get install chromium fonts-wqy-microhei); browser tests may skip"; fi

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy src

pytest: install browser
	$(BIN)/pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
