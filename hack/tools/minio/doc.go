// Package minio pins the MinIO server that hack/build-binaries.sh builds: the real S3-compatible
// object store the backup tests upload to. The module exists only for its go.mod and go.sum; see the
// tool directive there.
package minio
