# Sourced by the scripts here: runs `npm ci` when node_modules is missing or was installed
# from another package-lock.json (its hash is kept in node_modules/.lock-hash). Without the
# package's `prepare` build: generate.sh must work while src/ does not compile yet.
ensure_node_modules() {
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -d node_modules || "$(cat node_modules/.lock-hash 2>/dev/null)" != "$want" ]]; then
    npm ci --ignore-scripts --no-audit --no-fund
    echo "$want" > node_modules/.lock-hash
  fi
}
