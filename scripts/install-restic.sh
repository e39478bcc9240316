#!/bin/sh
# Installs restic (Debian's package), the reference the retention tests
# compare forget's decisions with, unless it is already on PATH.
set -eu

if command -v restic >/dev/null 2>&1; then
	echo "restic already installed: $(restic version)"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "restic is missing and apt-get is not available: install restic 0.14 or later yourself" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "installing restic from Debian"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends restic
echo "installed: $(restic version)"
