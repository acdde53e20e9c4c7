#!/usr/bin/env bash
# Runs a command with the pinned Node.js (hack/versions.env) first on PATH, installing it into the
# cache when missing. The package scripts wrap their tools with it, so vitest, tsx, tsc and eslint
# (whose bin shims say `#!/usr/bin/env node`) and every process they start through
# process.execPath run on that Node, whichever Node runs npm itself.
#
#   hack/node.sh vitest run --project unit
set -euo pipefail
bin=$("$(dirname "${BASH_SOURCE[0]}")/install-node.sh")
export PATH="$bin:$PATH"
# npm exports the Node that runs it; tools that honour these must see the pinned one.
export NODE="$bin/node" npm_node_execpath="$bin/node"
exec "$@"
