// Package kubernetes pins the Kubernetes control-plane binaries that hack/build-binaries.sh builds.
// The module exists only for its go.mod and go.sum; see the tool directives there.
package kubernetes
