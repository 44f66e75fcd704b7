# shellcheck shell=bash
# Shared by test.sh and drill.sh: make sure etcd/etcdctl, the Go toolchain (for the apid stand-in the TLS tests
# build) and the .NET SDK are there. Source it; it defines functions only.

# Installs Debian packages with apt-get (as root, or through sudo). Arguments: the packages.
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get is not available; install $* (or equivalents) yourself." >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "error: not root and sudo is not installed; run as root: apt-get install $*" >&2
      return 1
    fi
  fi
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Installs Debian's etcd 3.4 (etcd-server, etcd-client) when etcd or etcdctl is missing.
# TALOS_RECOVERY_ETCD / TALOS_RECOVERY_ETCDCTL, when set, point at executables to use instead.
ensure_etcd() {
  local etcd="${TALOS_RECOVERY_ETCD:-etcd}" etcdctl="${TALOS_RECOVERY_ETCDCTL:-etcdctl}"
  if command -v "$etcd" >/dev/null 2>&1 && command -v "$etcdctl" >/dev/null 2>&1; then
    return 0
  fi
  echo "etcd or etcdctl not found: installing Debian's etcd-server and etcd-client with apt-get."
  echo "(Or set TALOS_RECOVERY_ETCD and TALOS_RECOVERY_ETCDCTL to etcd 3.4+ executables.)"
  apt_install etcd-server etcd-client || return 1
  command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1
}

# Installs Debian's Go toolchain (golang-go) and golang.org/x/net (golang-golang-x-net-dev, used in GOPATH mode from
# /usr/share/gocode) when missing: the TLS tests build tests/ApidStandIn, an independent TLS peer with Talos apid's
# crypto/tls settings, at run time. TALOS_RECOVERY_GO / TALOS_RECOVERY_GOPATH, when set, point at a toolchain and a
# GOPATH holding golang.org/x/net instead.
ensure_go() {
  local go="${TALOS_RECOVERY_GO:-go}" gopath="${TALOS_RECOVERY_GOPATH:-/usr/share/gocode}"
  if command -v "$go" >/dev/null 2>&1 && [ -f "$gopath/src/golang.org/x/net/http2/server.go" ]; then
    return 0
  fi
  echo "Go or golang.org/x/net not found: installing Debian's golang-go and golang-golang-x-net-dev with apt-get."
  echo "(Or set TALOS_RECOVERY_GO and TALOS_RECOVERY_GOPATH to Go 1.19+ and a GOPATH holding golang.org/x/net.)"
  apt_install golang-go golang-golang-x-net-dev || return 1
  command -v go >/dev/null 2>&1 && [ -f /usr/share/gocode/src/golang.org/x/net/http2/server.go ]
}

# Checks that a .NET 10 SDK is on PATH.
ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: 'dotnet' was not found. Install the .NET 10 SDK (see https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
    echo "       and make sure 'dotnet' is on PATH." >&2
    return 1
  fi
  if ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
    echo "error: no .NET 10 SDK found; 'dotnet --list-sdks' shows:" >&2
    dotnet --list-sdks >&2 || true
    return 1
  fi
  export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}
