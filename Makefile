# The two commands an author needs:  `make` (build site/)  and  `make test`.
# Both create .venv and install what is missing first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU wheel of torch 2.13.0 lies on disk here; a bare `torch` would pull a CUDA build of several GB.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: all site build test figures campaign serve check bench bench-build clean distclean browser-deps media-deps test-deps

all: site

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

site build: $(STAMP) media-deps
	$(PY) build.py build

figures: $(STAMP)
	$(PY) build.py figures

# Train the profile's missing networks in the background, one at a time (JOBS=N: N at once),
# committing each as it finishes (a stopped campaign resumes from its last epoch):
# `make campaign PROFILE=... JOBS=...`
# OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads sleep at barriers instead of spinning, so a
# busy machine (tests, a browser) slows training by its share of the cores, not several times over.
# The kernel shares the CPU fairly between sessions (autogroups) whatever the nice
# value; where allowed, weight the campaign's session up so other work can't halve it.
campaign: $(STAMP)
	@mkdir -p .cache
	OMP_WAIT_POLICY=PASSIVE nohup $(PY) build.py train $(if $(PROFILE),--profile $(PROFILE)) \
	  $(if $(JOBS),--executor local --jobs $(JOBS)) --commit \
	  > .cache/campaign.log 2>&1 & \
	echo -10 > /proc/$$!/autogroup 2>/dev/null || true
	@echo "training in the background; follow it with: tail -f .cache/campaign.log"

serve: $(STAMP)
	$(PY) build.py serve $(if $(PORT),--port $(PORT))

check: $(STAMP) site browser-deps
	$(PY) build.py check

bench: $(STAMP)
	$(PY) bench/train_bench.py

# our build against plain pandoc on a generated six-chapter article
bench-build: $(STAMP)
	$(PY) bench/build_bench.py

# Debian packages, installed when missing (as root; otherwise say what to install):
# chromium drives the browser tests (Playwright's own browser download is not used),
# espeak-ng narrates the slides video (without it the video is silent, with captions).
define apt_need
@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then echo "installing Debian packages:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
  else echo "missing:$$missing (sudo apt-get install$$missing); $(2)"; fi; fi
endef

browser-deps:
	$(call apt_need,chromium fonts-dejavu-core espeak-ng,browser tests are skipped and the video is silent)

# and for the tests, slurmctld, slurmd and munge: the one-node cluster that tests/test_slurm.py
# submits real jobs to (scripts/slurm_node.py starts and stops it; it runs nothing as a service)
test-deps:
	$(call apt_need,chromium fonts-dejavu-core espeak-ng slurmctld slurmd slurm-client munge,browser tests and the Slurm test are skipped and the video is silent)

media-deps:
	$(call apt_need,espeak-ng,the slides video is silent)

test: $(STAMP) test-deps
	$(PY) -m pytest -n 2 --dist loadfile

clean:
	$(PY) build.py clean 2>/dev/null || rm -rf site .cache

distclean: clean
	rm -rf $(VENV)
