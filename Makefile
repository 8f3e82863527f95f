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

.PHONY: test setup lint ruff ansible-lint sanity units pytest build bench changelog clean

test: setup lint sanity units pytest build  ## every check, from a fresh clone

setup: $(STAMP) $(COLLECTION)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
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

bench: setup
	$(BIN)/python -m bench

changelog: setup
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf $(CACHE) .pytest_cache .ruff_cache tests/output

.PHONY: demo
demo: setup  ## stand-in MongoDB and S3 on loopback: backup, list, restore into a new database, verify (< 3 min)
	$(BIN)/python -m demo
