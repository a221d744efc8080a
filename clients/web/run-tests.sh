#!/usr/bin/env bash
# Runs the web front end's browser tests against the real server.
#
#   1. installs Debian's Chromium if /usr/bin/chromium is missing (never a browser download),
#   2. runs `npm ci` if node_modules is missing or does not match package-lock.json,
#   3. builds the server (`cargo build --bin parley`, a no-op when up to date),
#   4. runs `npm test` (node --test tests/).
#
# Run it from anywhere: bash clients/web/run-tests.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
WEB_DIR=$(pwd)
REPO_DIR=$(cd ../.. && pwd)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "run-tests.sh: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

apt_updated=no
apt_install() {
  if [ "$apt_updated" = no ]; then
    as_root apt-get update
    apt_updated=yes
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium"
  apt_install chromium
fi

# The HTTP/2 test makes a throwaway certificate with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then
  echo "==> installing openssl"
  apt_install openssl
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "==> installing node and npm"
  apt_install nodejs npm
fi

# node_modules is stale when it lacks a package of the lock file, or has another version.
node_modules_current() {
  [ -f node_modules/.package-lock.json ] || return 1
  node --input-type=module -e '
    import fs from "node:fs";
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    for (const [where, pkg] of Object.entries(lock.packages)) {
      if (!where) continue;
      if (pkg.optional && !fs.existsSync(where)) continue; // not for this platform
      let installed;
      try {
        installed = JSON.parse(fs.readFileSync(`${where}/package.json`, "utf8")).version;
      } catch {
        process.exit(1);
      }
      if (installed !== pkg.version) process.exit(1);
    }
  '
}

if ! node_modules_current; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
fi

echo "==> cargo build --bin parley"
(cd "$REPO_DIR" && cargo build --bin parley)

echo "==> npm test"
cd "$WEB_DIR"
npm test
