#!/usr/bin/env bash
# Installs the Node.js pinned in hack/versions.env into the cache beside the Go-built binaries and
# prints its bin directory. The build comes from the npm registry's node-linux-<arch> package,
# fetched with `npm pack` (no install scripts run) and unpacked only when the tarball's sha512
# matches the pinned integrity. A warm run only compares the stamp file.
#
#   hack/install-node.sh              install if missing, print the bin directory
#   ETCD_OPERATOR_CACHE=/dir ...      cache somewhere else (default ~/.cache/etcd-operator)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${ETCD_OPERATOR_CACHE:-$HOME/.cache/etcd-operator}
out=$cache/bin/node-v$NODE_VERSION

case $(uname -m) in
  x86_64) arch=x64 want=$NODE_INTEGRITY_X64 ;;
  aarch64 | arm64) arch=arm64 want=$NODE_INTEGRITY_ARM64 ;;
  *) echo "install-node: no pinned Node build for $(uname -m)" >&2; exit 1 ;;
esac

# The stamp is the pinned integrity: a version bump invalidates the cached copy.
if [[ -f $out/.stamp && $(<"$out/.stamp") == "$want" && -x $out/bin/node ]]; then
  echo "$out/bin"
  exit 0
fi

command -v npm >/dev/null || { echo "install-node: npm (any Node.js with npm) is needed once to fetch Node $NODE_VERSION" >&2; exit 1; }
echo "installing node $NODE_VERSION ($arch) from the npm registry..." >&2
mkdir -p "$cache/bin"
tmp=$(mktemp -d "$cache/bin/.tmp-node-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --pack-destination "$tmp" "node-linux-$arch@$NODE_VERSION" >/dev/null)
tarball=$tmp/node-linux-$arch-$NODE_VERSION.tgz
# The Node that runs npm computes the digest: it is there whenever npm is.
got=$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")
if [[ $got != "$want" ]]; then
  echo "install-node: node-linux-$arch@$NODE_VERSION has integrity $got, hack/versions.env pins $want" >&2
  exit 1
fi
mkdir "$tmp/unpacked"
tar -xzf "$tarball" -C "$tmp/unpacked" --strip-components=1 package/bin/node package/LICENSE
[[ $("$tmp/unpacked/bin/node" --version) == "v$NODE_VERSION" ]] || { echo "install-node: the unpacked node does not report v$NODE_VERSION" >&2; exit 1; }
echo "$want" >"$tmp/unpacked/.stamp"
rm -rf "$out"
mv "$tmp/unpacked" "$out"
echo "installed node $NODE_VERSION in $out" >&2
echo "$out/bin"
