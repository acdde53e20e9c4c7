#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh machine: the pinned Node.js (when
# missing), npm packages (when the lock file changed) and the pinned control-plane and etcd
# binaries (when missing). Idempotent and quick when there is nothing to do.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

command -v go >/dev/null || { echo "setup: Go is required to build the control plane (https://go.dev/dl/)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: Node.js with npm is required (it fetches the pinned Node from the npm registry)" >&2; exit 1; }

# The packages install under the pinned Node, so their engine checks and install scripts see the
# Node that runs them.
node_bin=$(hack/install-node.sh)

lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [[ ! -f node_modules/.setup-stamp || $(<node_modules/.setup-stamp) != "$lock_hash" ]]; then
  PATH="$node_bin:$PATH" npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >node_modules/.setup-stamp
fi

hack/build-binaries.sh
hack/install-prometheus.sh
