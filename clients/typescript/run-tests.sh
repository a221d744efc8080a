#!/usr/bin/env bash
# Installs the node modules if needed, builds the server, and runs the TypeScript SDK's tests
# against it (each test file starts its own server on a free port with a fresh data dir).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./ensure-deps.sh
ensure_node_modules
(cd ../.. && cargo build --bin parley)
npm test
