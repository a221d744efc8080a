#!/usr/bin/env bash
# Third-party Server-Sent Events parsers against the real server (see test/parsers.test.js):
# installs the pinned npm packages and, in .venv, the pinned Python ones, builds the
# server if needed, and runs the test, which starts the server itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export PIP_DISABLE_PIP_VERSION_CHECK=1
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || "$(cat node_modules/.lock-hash 2>/dev/null)" != "$want" ]]; then
  npm ci --ignore-scripts --no-audit --no-fund
  echo "$want" > node_modules/.lock-hash
fi
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/pip install -q -r requirements.txt
[ -x ../../target/debug/parley ] || (cd ../.. && cargo build --bin parley)
timeout 300 npm test
