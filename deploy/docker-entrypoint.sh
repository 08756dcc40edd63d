#!/bin/sh
# Entry of the Tenet image: `tenet ARGS...`. For `agent`, first installs the CNI shim into /opt/cni/bin
# when that directory is mounted from the host (what tenet-cni-install.service does on a systemd host).
set -eu
if [ "${1:-}" = "agent" ] && [ -d /opt/cni/bin ]; then
  if ! cmp -s /opt/tenet/native/tenet-cni /opt/cni/bin/tenet; then
    install -m 0755 /opt/tenet/native/tenet-cni /opt/cni/bin/tenet
  fi
fi
exec node /opt/tenet/bin/tenet "$@"
