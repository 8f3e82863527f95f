# Developer and CI entry points. `make test` sets up everything on a fresh machine and runs every check.
SHELL := /bin/bash
PYTHON ?= python3
CACHE := $(CURDIR)/.cache
VENV := $(CACHE)/venv
BIN := $(VENV)/bin
COLLECTIONS := $(CACHE)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/offsite/mongodb
STAMP := $(VENV)/.installed

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)

.PHONY: test setup lint ruff ansible-lint sanity units pytest build importer bench changelog docs clean

test: setup lint sanity units pytest build  ## every check, from a fresh clone

setup: $(STAMP) $(COLLECTION)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# Wheels of requirements.txt, so the python_env role's test installs a venv offline.
	$(BIN)/python -m pip wheel --quiet -r requirements.txt -w $(CACHE)/wheelhouse
	touch $@

# ansible-test wants the checkout on an ansible_collections/<namespace>/<name> path.
$(COLLECTION):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

lint: ruff ansible-lint

ruff: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ansible-lint: setup
	cd $(COLLECTION) && $(BIN)/ansible-lint --profile production

# ansible-test resolves symlinks and skips files under hidden directories (such as .cache), so
# sanity runs on a copy under an ansible_collections path in the temporary directory.
SANITY_COPY := $(or $(TMPDIR),/tmp)/offsite-mongodb-sanity/ansible_collections/offsite/mongodb
COPY_EXCLUDES := --exclude=./.cache --exclude=./.ansible --exclude=./.git --exclude=./tests/output \
    --exclude=__pycache__ --exclude=./.pytest_cache --exclude=./.ruff_cache
sanity: setup
	$(BIN)/python tests/ensure_get_pip_cache.py
	rm -rf $(SANITY_COPY) && mkdir -p $(SANITY_COPY)
	tar -c $(COPY_EXCLUDES) . | tar -x -C $(SANITY_COPY)
	cd $(SANITY_COPY) && $(BIN)/ansible-test sanity --python 3.11 --local --requirements --color no

# The unit tests as ansible-test runs them (collection loader, forked tests), offline: the venv already
# has tests/unit/requirements.txt (the hosts' requirements) and pytest-xdist. 35-70 s on 2 busy cores.
UNITS_COPY := $(or $(TMPDIR),/tmp)/offsite-mongodb-units/ansible_collections/offsite/mongodb
units: setup
	rm -rf $(UNITS_COPY) && mkdir -p $(UNITS_COPY)
	tar -c $(COPY_EXCLUDES) . | tar -x -C $(UNITS_COPY)
	cd $(UNITS_COPY) && $(BIN)/ansible-test units --python 3.11 --local --color no

pytest: setup
	$(BIN)/python -m pytest

build: setup
	rm -rf $(CACHE)/build && mkdir -p $(CACHE)/build
	$(BIN)/ansible-galaxy collection build --output-path $(CACHE)/build $(CURDIR)
	$(BIN)/python tests/check_artifact.py $(CACHE)/build/offsite-mongodb-*.tar.gz

# Galaxy's importer (ansible-doc and ansible-lint on the artifact) in a venv of its own, since it pins its own
# ansible-core and ansible-lint; any warning it prints fails the target.
IMPORTER_VENV := $(CACHE)/importer-venv
importer: build
	test -x $(IMPORTER_VENV)/bin/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --quiet galaxy-importer
	cd $(CACHE)/build && PATH=$(IMPORTER_VENV)/bin:$$PATH $(IMPORTER_VENV)/bin/python -m galaxy_importer.main \
	    offsite-mongodb-*.tar.gz > importer.log 2>&1 || { cat importer.log; exit 1; }
	@grep -E "^(WARNING|ERROR)" $(CACHE)/build/importer.log && exit 1 || echo "galaxy-importer: no warnings"

bench: setup
	$(BIN)/python -m bench

# Lints the fragments and regenerates CHANGELOG.rst from changelogs/changelog.yaml. Cutting a release entry:
# `antsibull-changelog release --version X.Y.Z` in $(COLLECTION) (run again for the same version to fold in
# fragments added since).
changelog: setup
	cd $(COLLECTION) && $(BIN)/antsibull-changelog lint && $(BIN)/antsibull-changelog generate

# The collection docsite, built into .cache/docs/build/html. Cross-references to docs.python.org and
# docs.ansible.com need their intersphinx inventories from the internet: `make docs INTERSPHINX=1` (CI does);
# without it they stay plain text and every other warning still fails the build.
DOCS := $(CACHE)/docs
DOCS_STAMP := $(VENV)/.docs-installed
SPHINX_FLAGS := -W --keep-going
ifndef INTERSPHINX
SPHINX_FLAGS += -D extensions=sphinx.ext.autodoc,sphinx_antsibull_ext -D suppress_warnings=ref.ref
endif

$(DOCS_STAMP): requirements-docs.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-docs.txt
	touch $@

docs: setup $(DOCS_STAMP)
	cd $(COLLECTION) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	rm -rf $(DOCS) && mkdir -p $(DOCS) && chmod 0755 $(DOCS)
	$(BIN)/antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir $(DOCS) offsite.mongodb
	mkdir -p $(DOCS)/rst && chmod og-w $(DOCS)/rst
	cd $(DOCS) && $(BIN)/antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
	    --fail-on-error --use-current --squash-hierarchy --dest-dir rst offsite.mongodb
	$(BIN)/sphinx-build -M html $(DOCS)/rst $(DOCS)/build -c $(DOCS) $(SPHINX_FLAGS)
	@echo "docsite: $(DOCS)/build/html/index.html"

clean:
	rm -rf $(CACHE) .pytest_cache .ruff_cache tests/output

.PHONY: demo
# The plan (with its timings) prints first, before a fresh machine spends its minutes in setup.
demo:  ## stand-in MongoDB and S3 on loopback: backup, list, restore into a new database, verify
	@$(PYTHON) -m demo.plan
	@$(MAKE) --no-print-directory setup
	$(BIN)/python -m demo
