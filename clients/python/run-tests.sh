#!/usr/bin/env bash
# Lints and type-checks the hand-written code, then runs the tests against a real server.
# Exits non-zero on any failure, including a run that collects no tests (pytest's exit 5).
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
pip install -q --no-build-isolation -e .
if [ ! -x ../../target/debug/parley ]; then
  (cd ../.. && cargo build --bin parley)
fi
ruff check .
ruff format --check .
mypy
pytest -q "$@"
