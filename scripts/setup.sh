#!/usr/bin/env bash
# Installs everything Tenet needs on a Debian 12 machine (as root) and builds it.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  iproute2 nftables conntrack iputils-ping iperf3 ethtool tcpdump procps socat util-linux dnsmasq-base
  etcd-server etcd-client containernetworking-plugins
  podman runc busybox-static containerd docker.io
  chromium chromium-driver
  build-essential python3 libnftables-dev
)

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
