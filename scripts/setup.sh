#!/usr/bin/env bash
# Installs what Tenet needs on a Debian 12 machine (as root) and builds it:
#   bash scripts/setup.sh          runtime + build: Node.js, the agent, controller, CLI and `tenet lab`
#   bash scripts/setup.sh --test   also what only the tests and benchmarks use (etcd, container
#                                  runtimes, iperf3, systemd-analyze, ...)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# Started with no PATH at all (env -i), bash searches its default PATH but does not pass it on, and a
# child's `#!/usr/bin/env node` (npm's) would then search only /bin:/usr/bin, missing the Node.js this
# script installs in /usr/local/bin. Exporting it is a no-op when PATH was set.
export PATH

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
# arping (iputils-arping): gratuitous ARP for layer-2 floating IPs; na6 (ipv6toolkit): their IPv6 twin,
# unsolicited neighbour advertisements (docs/external.md).
RUNTIME_PACKAGES=(iproute2 nftables procps util-linux socat iputils-ping dnsmasq-base bird2 iputils-arping ipv6toolkit)
# Building: the native helpers (libnftables; the flow reader's libnetfilter_log and libnetfilter_conntrack);
# fetching Node.js (below) from the npm registry. No npm package is compiled here (better-sqlite3 ships
# N-API binaries), so no node-gyp toolchain either.
BUILD_PACKAGES=(build-essential libnftables-dev libnetfilter-log-dev libnetfilter-conntrack-dev curl ca-certificates)
# Tests and benchmarks only: python3 (hand-built frames and getaddrinfo in the kernel tests); chromium drives
# the web console's browser tests (test/ui, through playwright-core); prometheus: its promtool checks the
# /metrics of the controller and the agent.
TEST_PACKAGES=(
  python3 etcd-server etcd-client containernetworking-plugins
  podman runc busybox-static containerd docker.io
  conntrack iperf3 ethtool tcpdump systemd chromium
  prometheus
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

# Node.js: the current LTS line, 24 ("Krypton"); the oldest release Tenet accepts is package.json's
# engines.node. When the machine's `node` is missing or older, this installs the release pinned here
# from the npm registry (the package node-linux-<arch> carries the official binary and headers; npm
# comes from its own package), each checked against the sha512 pinned here, unpacked into
# $NODE_PREFIX/lib/nodejs/node-v$NODE_VERSION-linux-<arch> and linked as $NODE_PREFIX/bin/{node,npm,npx}.
# /usr/local/bin comes before /usr/bin on every standard PATH (shells, sudo, systemd units), so that
# node is the one `npm test`, bin/tenet and the systemd units run; the distribution's own
# /usr/bin/node is left alone. TENET_NODE_PREFIX installs elsewhere (its bin/ must then lead PATH).
NODE_VERSION=24.22.3
NODE_SHA512_x64=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
NODE_SHA512_arm64=219c74279dbfd4d0f002c6368b2591f6794f218b98be24d67ad8e3f3e125bd8421dbe5d184b7c27e46c5105ff63b9bc623685c51bc8f34757e9f3df8d856c95f
NPM_VERSION=11.21.3
NPM_SHA512=e427fe8c4f9772d6e11ffce338ea970be8adcbb79e73f4e4938425dfcb5feb0fb586da76c183c7984e1cd51d44b370d8db6ec0735e3e48bae5609c2406271b4e
NODE_PREFIX=${TENET_NODE_PREFIX:-/usr/local}
REGISTRY=${npm_config_registry:-https://registry.npmjs.org}
REGISTRY=${REGISTRY%/}
NODE_MIN=$(sed -n 's/^ *"node": *">=\([0-9.]*\)".*/\1/p' package.json)
if [ -z "$NODE_MIN" ]; then echo "setup: package.json has no engines.node of the form \">=X.Y.Z\"" >&2; exit 1; fi

# The version of the `node` this PATH runs ("" when there is none).
path_node_version() {
  hash -r
  if command -v node >/dev/null; then node -p 'process.versions.node' 2>/dev/null || true; fi
}

new_enough() { [ -n "$1" ] && dpkg --compare-versions "$1" ge "$NODE_MIN"; }

# fetch URL SHA512 FILE: the download must match the pinned digest, or nothing is installed.
fetch() {
  curl -fsSL --retry 3 -o "$3" "$1"
  if ! echo "$2  $3" | sha512sum -c --status -; then
    echo "setup: $1 does not match its pinned sha512; nothing installed" >&2
    return 1
  fi
}

install_node() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "setup: no Node.js package pinned for $(uname -m); install Node.js >= $NODE_MIN yourself" >&2; exit 1 ;;
  esac
  local sha_var="NODE_SHA512_$arch"
  local lib="$NODE_PREFIX/lib/nodejs"
  local dir="$lib/node-v$NODE_VERSION-linux-$arch"
  local cmd
  for cmd in node npm npx; do
    if [ -e "$NODE_PREFIX/bin/$cmd" ] && [ ! -L "$NODE_PREFIX/bin/$cmd" ]; then
      echo "setup: $NODE_PREFIX/bin/$cmd is a file of another Node.js installation: remove it (or upgrade that installation to >= $NODE_MIN), then run setup again" >&2
      exit 1
    fi
  done
  if [ "$("$dir/bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]; then
    echo "setup: installing Node.js $NODE_VERSION and npm $NPM_VERSION into $dir"
    # Readable by every user (the controller's unit runs as the user tenet), whatever root's umask.
    local umask_was
    umask_was=$(umask)
    umask 022
    mkdir -p "$lib" "$NODE_PREFIX/bin"
    # Unpacked next to its final place (same filesystem): the last step is one rename.
    local tmp
    tmp=$(mktemp -d "$lib/.setup.XXXXXX")
    # shellcheck disable=SC2064 # expand now: $tmp is local
    trap "rm -rf '$tmp'" EXIT
    fetch "$REGISTRY/node-linux-$arch/-/node-linux-$arch-$NODE_VERSION.tgz" "${!sha_var}" "$tmp/node.tgz"
    fetch "$REGISTRY/npm/-/npm-$NPM_VERSION.tgz" "$NPM_SHA512" "$tmp/npm.tgz"
    mkdir -p "$tmp/node/lib/node_modules/npm"
    tar -xzf "$tmp/node.tgz" -C "$tmp/node" --strip-components=1 --no-same-owner
    tar -xzf "$tmp/npm.tgz" -C "$tmp/node/lib/node_modules/npm" --strip-components=1 --no-same-owner
    rm -f "$tmp/node/package.json"
    # The layout of Node.js's own release tarball: bin/npm and bin/npx lead into lib/node_modules/npm.
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/node/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/node/bin/npx"
    if [ "$("$tmp/node/bin/node" --version)" != "v$NODE_VERSION" ]; then
      echo "setup: the unpacked node is not v$NODE_VERSION; nothing installed" >&2
      exit 1
    fi
    rm -rf "$dir"
    mv "$tmp/node" "$dir"
    rm -rf "$tmp"
    trap - EXIT
    umask "$umask_was"
  fi
  # Another installation's programs were refused above; links (ours, older ones) are replaced.
  for cmd in node npm npx; do
    if [ "$(readlink "$NODE_PREFIX/bin/$cmd" || true)" != "$dir/bin/$cmd" ]; then ln -sfn "$dir/bin/$cmd" "$NODE_PREFIX/bin/$cmd"; fi
  done
}

have=$(path_node_version)
if ! new_enough "$have"; then
  echo "setup: Node.js ${have:-(none)} on PATH is older than $NODE_MIN"
  install_node
  have=$(path_node_version)
  if ! new_enough "$have"; then
    echo "setup: Node.js $NODE_VERSION is in $NODE_PREFIX/bin, but \`node\` on this PATH is $(command -v node || echo none) (${have:-none}):" >&2
    echo "setup: put $NODE_PREFIX/bin before it in PATH ($PATH)" >&2
    exit 1
  fi
  echo "setup: node is now $(command -v node) (v$have); a shell that ran node before may need \`hash -r\`"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -p tsconfig.json
# The web console (ui/), type-checked and bundled with esbuild into dist/console (served under /ui/).
npx tsc -p ui/tsconfig.json
node scripts/build-ui.mjs
if [ -f native/Makefile ]; then make -s -C native; fi
echo "setup: done"
