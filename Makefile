# Two commands do all the set-up on a fresh machine (Python 3.11 or 3.12):
#   make run    install, then run the main job on sample_notes/ (results in out/)
#   make test   install, then run the test suite (what CI runs: .ci/run)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: install run test bench eval browser ocr clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(BIN)/.installed ocr

run: install
	$(BIN)/notechecker extract sample_notes -o $(OUT)/facts.jsonl
	$(BIN)/notechecker scan sample_notes -o $(OUT)/results.parquet
	$(BIN)/notechecker report $(OUT)/results.parquet -o $(OUT)/gap-report.html --xlsx $(OUT)/gap-report.xlsx
	$(BIN)/notechecker check sample_notes/sn08_anterior_cervical_plate_removal.txt --fail-on never

# Debian's Chromium for the browser test; skipped quietly where apt is not ours to use.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the browser test will be skipped"; }

# Debian's Tesseract for scanned PDF pages (OCR); without it a scan stays an E532 row naming it.
ocr:
	@command -v tesseract >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null) || \
	  echo "tesseract-ocr not installed: scanned PDFs stay E532 and the OCR tests will be skipped"; }

test: install browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_stages.py

# Accuracy on the public sets (../shared/eval dev, dev2, nonspine; sample_notes/): one table
eval: install
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
