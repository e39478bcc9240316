#!/bin/sh
# Installs fake-gcs-server, the Google Cloud Storage emulator the gs://
# backend's integration tests run against, into <repo>/.tools/bin, unless it
# is already there.
set -eu

VERSION=v1.56.1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="$ROOT/.tools/bin"

if [ -x "$BIN_DIR/fake-gcs-server" ]; then
	echo "fake-gcs-server already installed at $BIN_DIR/fake-gcs-server"
	exit 0
fi

mkdir -p "$BIN_DIR"
echo "installing fake-gcs-server $VERSION into $BIN_DIR (takes a few minutes)"
GOBIN="$BIN_DIR" go install "github.com/fsouza/fake-gcs-server@$VERSION"
echo "installed $BIN_DIR/fake-gcs-server"
