// Package etcd pins the etcd v3.5.35 binaries that hack/build-binaries.sh builds.
// The module exists only for its go.mod and go.sum; see the tool directives there.
package etcd
