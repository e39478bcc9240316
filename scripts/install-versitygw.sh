#!/bin/sh
# Installs the versitygw S3 gateway used by the storage integration tests
# into <repo>/.tools/bin, unless it is already there.
set -eu

VERSION=v1.8.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="$ROOT/.tools/bin"

if [ -x "$BIN_DIR/versitygw" ]; then
	echo "versitygw already installed at $BIN_DIR/versitygw"
	exit 0
fi

mkdir -p "$BIN_DIR"
echo "installing versitygw $VERSION into $BIN_DIR (takes a few minutes)"
GOBIN="$BIN_DIR" go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
echo "installed $BIN_DIR/versitygw"
