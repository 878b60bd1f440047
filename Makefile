# The two commands: `make run` (the app, demo mode, embedded PostgreSQL) and `make test`.
# Builds go to a target folder outside the clone so that clones and CI runs share them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/elysium/target
export ELYSIUM_SITE_ROOT ?= $(CARGO_TARGET_DIR)/site
# ONNX Runtime's library, installed by .ci/setup-ort.sh (GPU hosts point this at onnxruntime-gpu's).
export ORT_DYLIB_PATH ?= $(or $(ELYSIUM_TOOLS),$(HOME)/.cache/elysium-tools)/onnxruntime-1.31.1/libonnxruntime.so.1.31.1
# The OHIF viewer's built application, installed by .ci/setup-ohif.sh and served under /ohif/.
export ELYSIUM_OHIF_DIR ?= $(or $(ELYSIUM_TOOLS),$(HOME)/.cache/elysium-tools)/ohif-3.13.2/dist

.PHONY: run test bench load load-ingest load-inference setup site server release sqlx-prepare clean-state fuzz

## Install what is missing, build, and start Elysium in demo mode on http://127.0.0.1:3000.
run: setup site server
	ELYSIUM_DEMO=$${ELYSIUM_DEMO:-1} $(CARGO_TARGET_DIR)/debug/elysium serve

## Every suite: clippy, unit, database, HTTP, and the browser suite (JavaScript off and on).
test: setup
	.ci/test.sh

## Elysium side by side with pydicom, SimpleITK and Orthanc (load time, STOW-RS throughput);
## installs what it needs, prints a table and writes tests/bench/RESULTS.md. Not part of `test`.
bench:
	tests/bench/run.sh

## The worklist, finding, study and dashboard pages under 200 signed-in sessions for 60 s (wrk);
## prints and writes tests/load/RESULTS.md. Not part of `test`.
load: setup
	tests/load/web.sh

## Ingest from 8 C-STORE (storescu) and 8 STOW-RS senders at once, then every series again: each
## instance stored once; prints and writes tests/load/INGEST.md. Not part of `test`.
load-ingest: setup
	tests/load/ingest.sh

## A backlog of 200 phantom series (queued by the scheduler, no worker running) drained by two
## `elysium worker` processes: every job run once, none lost; prints and writes
## tests/load/INFERENCE.md. Not part of `test`.
load-inference: setup
	tests/load/inference.sh

setup:
	@.ci/setup.sh

site:
	.ci/build-site.sh

server:
	cargo build --locked -p server

## Optimised server and browser bundle (for production; `elysium serve` without demo mode).
release: setup
	.ci/build-site.sh --release
	cargo build --locked --release -p server
	@echo "binary: $(CARGO_TARGET_DIR)/release/elysium  bundle: $(ELYSIUM_SITE_ROOT)"

## Regenerate .sqlx/ (the compile-time query metadata) after changing a query or a migration.
sqlx-prepare: server
	@url="$$($(CARGO_TARGET_DIR)/debug/elysium pg --data-dir .state/sqlx start --database elysium_sqlx)"; \
	DATABASE_URL="$$url" $(CARGO_TARGET_DIR)/debug/elysium migrate && \
	rm -rf .sqlx && mkdir .sqlx && touch server/db/src/lib.rs && \
	SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx DATABASE_URL="$$url" cargo build -p elysium-db; \
	status=$$?; $(CARGO_TARGET_DIR)/debug/elysium pg --data-dir .state/sqlx stop; exit $$status

## Fuzz the DICOM parse path, the C-STORE listener's PDU reading and the STOW-RS body reading
## (FUZZ_SECONDS each, default 600; FUZZ_TARGET=parse|pdu|stow_multipart for one); `make test`
## replays every committed input of each target once. Crashes are written to
## tests/fixtures/dicom/fuzz/ (pdu/, stow_multipart/) as found-* (commit them with the fix).
fuzz: setup
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} .ci/fuzz.sh explore $(FUZZ_TARGET)

## Forget the demo database (it is recreated and reseeded by the next `make run`).
clean-state:
	-$(CARGO_TARGET_DIR)/debug/elysium pg stop
	rm -rf .state
