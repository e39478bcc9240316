#!/usr/bin/env bash
# Installs Debian's prometheus and prometheus-alertmanager packages, which give
# the rule tests promtool, amtool and the two servers. Idempotent: apt-get runs
# only when one of the four commands is missing. Debian's policy-rc.d in
# containers keeps the packages' services from starting.
# A concurrent apt-get (another install step) is waited for, not failed on.
set -euo pipefail

commands=(prometheus promtool prometheus-alertmanager amtool)

missing() {
  local c
  for c in "${commands[@]}"; do
    command -v "$c" >/dev/null 2>&1 || echo "$c"
  done
}

[[ -z "$(missing)" ]] && exit 0

echo "install-prometheus: missing $(missing | tr '\n' ' '); installing prometheus prometheus-alertmanager" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=600
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends prometheus prometheus-alertmanager >&2

if [[ -n "$(missing)" ]]; then
  echo "install-prometheus: still missing after apt-get: $(missing | tr '\n' ' ')" >&2
  exit 1
fi
