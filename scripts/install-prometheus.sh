#!/usr/bin/env bash
# Installs Debian's Prometheus and Alertmanager (prometheus, promtool,
# prometheus-alertmanager, amtool), which the rule tests and the alertrules
# exporter's end-to-end tests run. Idempotent: apt-get runs only when one of
# the four commands is missing. Nothing is started as a service.
set -euo pipefail

missing=()
for cmd in prometheus promtool prometheus-alertmanager amtool; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-prometheus: ${missing[*]} missing; installing prometheus prometheus-alertmanager" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "install-prometheus: apt-get needs root; run: sudo apt-get install -y --no-install-recommends prometheus prometheus-alertmanager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >&2

for cmd in prometheus promtool prometheus-alertmanager amtool; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "install-prometheus: $cmd still missing after apt-get" >&2; exit 1; }
done
