// Package helm pins the helm v3 binary that hack/build-binaries.sh builds for the chart tests.
// The module exists only for its go.mod and go.sum; see the tool directive there.
package helm
