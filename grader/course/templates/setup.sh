#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu, online).
# `setup.sh --check-python` runs only the first step.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# 1. Python >= 3.10 before anything is installed (TensorFlow 2.16+ and the grader need it):
#    Ubuntu 22.04 ships 3.10, 24.04 3.12; Ubuntu 20.04 and 18.04 are too old
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update
  apt-get install -y --no-install-recommends python3
fi
PY_VERSION="$(python3 --version 2>&1 || true)"
PY_PATTERN='Python ([0-9]+)[.]([0-9]+)'
if [[ ! "$PY_VERSION" =~ $PY_PATTERN ]] || (( BASH_REMATCH[1] < 3 || (BASH_REMATCH[1] == 3 && BASH_REMATCH[2] < 10) )); then
  echo "setup.sh: the autograder needs Python >= 3.10, and this image's python3 is: ${PY_VERSION:-none}." >&2
  echo "setup.sh: in the assignment's Configure Autograder page on Gradescope, choose the Ubuntu 22.04" >&2
  echo "setup.sh: (or newer) base image, then upload this zip again." >&2
  exit 1
fi
echo "setup.sh: $PY_VERSION"
if [ "${1:-}" = "--check-python" ]; then exit 0; fi
# 2. a venv with the grader and its runtime dependencies only (@requirements@)
apt-get update
apt-get install -y --no-install-recommends python3-venv python3-pip ca-certificates
python3 -m venv /opt/grader-venv
/opt/grader-venv/bin/python -m pip install --upgrade pip
/opt/grader-venv/bin/python -m pip install "$SOURCE/grader_src"
# the datasets this suite loads (not shipped in the zip): downloaded once, into root's cache
# @prefetch@
echo "grader installed: $(/opt/grader-venv/bin/grader --help | head -n 1)"
