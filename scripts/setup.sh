#!/usr/bin/env bash
# Installs what Tenet needs on a Debian 12 machine (as root) and builds it:
#   bash scripts/setup.sh          runtime + build: the agent, controller, CLI and `tenet lab`
#   bash scripts/setup.sh --test   also what only the tests and benchmarks use (etcd, container
#                                  runtimes, iperf3, systemd-analyze, ...)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

# What a Tenet host runs: ip/ss (iproute2), nft, nsenter (util-linux), ps/pgrep (procps), and for
# `tenet lab` the probes' socat and ping; dnsmasq answers each tenant's DNS (docs/services.md).
# bird2: the BGP daemon the agent configures to advertise floating IPs, and the lab's upstream router;
# arping (iputils-arping): gratuitous ARP for layer-2 floating IPs (docs/external.md).
RUNTIME_PACKAGES=(iproute2 nftables procps util-linux socat iputils-ping dnsmasq-base bird2 iputils-arping)
# Building: the native helpers (libnftables) and better-sqlite3 when no prebuilt binary fits.
BUILD_PACKAGES=(build-essential python3 libnftables-dev)
# Tests and benchmarks only. (No browser: nothing uses one until the UI exists; its issue adds it.)
TEST_PACKAGES=(
  etcd-server etcd-client containernetworking-plugins
  podman runc busybox-static containerd docker.io
  conntrack iperf3 ethtool tcpdump systemd
)

DEBIAN_PACKAGES=("${RUNTIME_PACKAGES[@]}" "${BUILD_PACKAGES[@]}")
if [ "$with_test" = 1 ]; then DEBIAN_PACKAGES+=("${TEST_PACKAGES[@]}"); fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -p tsconfig.json
if [ -f native/Makefile ]; then make -s -C native; fi
echo "setup: done"
