#!/usr/bin/env bash
# Builds the real control-plane and etcd binaries from their published Go modules at the versions
# pinned in hack/versions.env, into a cache outside the repo. A warm run only checks stamp files.
#
#   hack/build-binaries.sh            build whatever is missing
#   ETCD_OPERATOR_CACHE=/dir ...      cache somewhere else (default ~/.cache/etcd-operator)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${ETCD_OPERATOR_CACHE:-$HOME/.cache/etcd-operator}

# build <wrapper-module-dir> <cache-subdir> <version ldflags> <output>=<package>...
build() {
  local module=$1 name=$2 out=$cache/bin/$2 ldflags=$3
  shift 3
  # The stamp is the wrapper's go.mod+go.sum: a version bump invalidates the cached build.
  local want
  want=$(cat "$module/go.mod" "$module/go.sum" | sha256sum | cut -c1-16)
  if [[ -f $out/.stamp && $(<"$out/.stamp") == "$want" ]]; then
    return 0
  fi
  echo "building $name (first build takes several minutes)..." >&2
  local started=$SECONDS tmp
  tmp=$(mktemp -d "$cache/bin/.tmp-XXXXXX")
  local spec
  for spec in "$@"; do
    (cd "$module" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/${spec%%=*}" "${spec#*=}")
  done
  echo "$want" >"$tmp/.stamp"
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "built $name in $((SECONDS - started))s" >&2
}

mkdir -p "$cache/bin"

k=$KUBERNETES_VERSION
kminor=${k#v1.}; kminor=${kminor%%.*}
kflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kflags+=" -X $pkg.gitVersion=$k -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kminor"
  kflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
build "$here/tools/kubernetes" "kubernetes-$k" "$kflags" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kubectl=k8s.io/kubernetes/cmd/kubectl

for pair in "etcd-3.6:$ETCD_VERSION" "etcd-3.5:$ETCD_PREVIOUS_VERSION"; do
  build "$here/tools/${pair%%:*}" "etcd-${pair#*:}" "" \
    etcd=go.etcd.io/etcd/server/v3 \
    etcdctl=go.etcd.io/etcd/etcdctl/v3 \
    etcdutl=go.etcd.io/etcd/etcdutl/v3
done

# helm's lint and default .Capabilities.KubeVersion use the Kubernetes minor it was built against
# (its Makefile derives it from client-go the same way); without these it would claim v1.20.
hminor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$here/tools/helm/go.mod")
hflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  hflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$hminor"
done
build "$here/tools/helm" "helm-$HELM_VERSION" "$hflags" helm=helm.sh/helm/v3/cmd/helm

# MinIO stamps its release from the commit time; the pseudo-version carries it (yyyymmddhhmmss).
mtime=${MINIO_VERSION#v0.0.0-}; mtime=${mtime%%-*}
mflags="-X github.com/minio/minio/cmd.Version=${mtime:0:4}-${mtime:4:2}-${mtime:6:2}T${mtime:8:2}:${mtime:10:2}:${mtime:12:2}Z"
mflags+=" -X github.com/minio/minio/cmd.ReleaseTag=$MINIO_VERSION"
build "$here/tools/minio" "minio-$MINIO_VERSION" "$mflags" minio=github.com/minio/minio
