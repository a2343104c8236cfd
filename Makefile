# pyari: `make run` serves the embedded default config; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two install levels: RUN_STAMP is pyari and what serving needs (`make run`);
# STAMP adds what the tests and tools need (`make test`, lint, bench ...).
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed-test

NODE_DIR   := tests/interop/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: run test test-fast lint typecheck bench bench-deps client args system-deps node-deps cluster-demo softphone clean

## pyari, its runtime dependencies and the sound packages: what serving needs.
# setup.py and the C source: the native RTP relay (pyari.rtp._relay, decision 0029) is
# built by the editable install; a changed .c rebuilds it.
$(RUN_STAMP): pyproject.toml constraints.txt setup.py src/pyari/rtp/_relay.c
	bash scripts/system-deps.sh run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[webrtc]'
	touch $(RUN_STAMP)

## Plus the dev extras (pytest, ruff, mypy, the client libraries the interop
## tests drive) and the Debian packages of the tests (SIPp, baresip, node).
$(STAMP): $(RUN_STAMP) pyproject.toml constraints.txt
	bash scripts/system-deps.sh test
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh test

## Rebuild the softphone page's JsSIP bundle from the pinned npm packages (web/softphone)
## and vendor it into src/pyari/http/static/softphone/vendor (committed: `make run` needs
## no node; docs/decisions/0026-webrtc-softphone.md).
softphone: | system-deps
	bash scripts/vendor-softphone.sh

## The node ari-client at the locked versions, for the interop test.
node-deps: $(NODE_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json | system-deps
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## Create the environment and serve the embedded default configuration.
run: $(RUN_STAMP)
	$(BIN)/pyari serve

## nats-server, Kamailio and three pyari nodes on loopback as one cluster, until Ctrl+C
## (docs/cluster.md; `$(BIN)/python scripts/cluster_demo.py --help` for the options).
cluster-demo: $(STAMP)
	$(BIN)/python scripts/cluster_demo.py

# The HTTP-facing suites run a second time on the other HTTP core
# (PYARI_HTTP_BACKEND: pyari.http.httptools_core by default, pyari.http.aiohttp_core
# here; docs/decisions/0006-http-core.md).
OTHER_HTTP_BACKEND ?= aiohttp
HTTP_SUITES := tests/http tests/e2e tests/interop tests/client tests/examples \
	tests/ari/test_ari_applications.py tests/ari/test_ari_events.py \
	tests/channels/test_channels_websocket_media.py tests/stasis/test_ws_rules.py \
	tests/cli/test_commands.py tests/sip/test_sip_websocket.py

## Lint (the import layers too), type-check and run the whole test suite (slow suites included).
test: $(STAMP) system-deps node-deps
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest -q
	PYARI_HTTP_BACKEND=$(OTHER_HTTP_BACKEND) $(BIN)/pytest -q $(HTTP_SUITES)

## Only the fast tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

## Ruff, and the layers of docs/architecture.md ([tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

## Regenerate the typed client (src/pyari/client/_*.py) from the ARI declarations.
client: $(STAMP)
	$(BIN)/python scripts/gen_client.py

## Regenerate the typed arguments of each ARI operation (src/pyari/ari/args.py).
args: $(STAMP)
	$(BIN)/python scripts/gen_args.py

## Every benchmark, loopback only (about 6 minutes); writes BENCHMARKS.md.
bench: $(STAMP) bench-deps
	$(BIN)/python -m bench.run

## wrk drives the REST benchmarks: apt-get only when it is missing.
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends wrk; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache $(NODE_DIR)/node_modules
