#!/usr/bin/env bash
# The README's set-up command: everything the build, the tests, the lab and the demo need on a
# fresh Debian machine, as root. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  keepalived        # the reference peer board in interoperability tests and benchmarks
  nftables          # the data plane
  iproute2          # namespaces, veth, bridges, VIPs
  conntrack         # deleting a failed real server's flows
  socat             # pseudo-terminal pairs for the serial console tests
  mosquitto mosquitto-clients   # the MQTT broker of the reporting tests (the demo embeds its own)
  iputils-arping    # gratuitous ARP on becoming MASTER
  iputils-ping
  tshark            # decoding our advertisements in tests
  tcpdump
  iperf3            # throughput benchmarks
  netsniff-ng       # trafgen: the packet-socket sender of bench/throughput.ts's packets per second
  haproxy           # the userspace forwarder's benchmark peer (bench/forwarder.ts)
  openssl           # test certificates (SSL_GET, MQTT over TLS)
  qemu-user qemu-user-static    # running the arm64 firmware on this machine
  g++-aarch64-linux-gnu gcc-aarch64-linux-gnu   # cross-building raw-socket for arm64
  make python3 g++  # node-gyp for raw-socket
  chromium          # the fleet page's browser tests (driven by playwright-core, headless)
  prometheus        # promtool: lints the /metrics exposition in the lab tests
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (apt-get and the lab need it)" >&2
  exit 1
fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian starts these daemons on install; tests start their own instances on their own ports
# and namespaces, so the system-wide ones are stopped (only if this script's install started
# them under systemd, which CI machines do not have).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now keepalived mosquitto haproxy prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi

npm ci --no-audit --no-fund
echo "setup: done"
