#!/usr/bin/env bash
# The drill (for now the main job): start a local etcd on free loopback ports, write some keys, take a snapshot
# with `etcdctl snapshot save`, and check it with the talos-recovery CLI (`snapshot verify`, `snapshot status`).
# etcd and the temporary directory are removed on exit, on Ctrl+C and on SIGTERM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/prerequisites.sh
source scripts/prerequisites.sh

ensure_etcd
ensure_dotnet
ETCD="$(command -v "${TALOS_RECOVERY_ETCD:-etcd}")"
ETCDCTL="$(command -v "${TALOS_RECOVERY_ETCDCTL:-etcdctl}")"
export ETCDCTL_API=3

work="$(mktemp -d "${TMPDIR:-/tmp}/talos-recovery-drill.XXXXXX")"
etcd_pid=""
cleanup() {
  if [ -n "$etcd_pid" ] && kill -0 "$etcd_pid" 2>/dev/null; then
    kill "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  while true; do
    port=$(( 20000 + RANDOM % 12000 ))
    if port_is_free "$port"; then echo "$port"; return; fi
  done
}

# setpriv (util-linux) makes the kernel kill etcd if this script dies without running its traps.
launcher=()
if command -v setpriv >/dev/null 2>&1; then launcher=(setpriv --pdeathsig KILL --); fi

endpoint=""
for attempt in 1 2 3 4 5; do
  client_port="$(free_port)"
  peer_port="$(free_port)"
  [ "$client_port" != "$peer_port" ] || continue
  rm -rf "$work/etcd"
  "${launcher[@]}" "$ETCD" --name drill --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "drill=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 100); do
    if ! kill -0 "$etcd_pid" 2>/dev/null; then break; fi
    if "$ETCDCTL" --endpoints="127.0.0.1:$client_port" endpoint health >/dev/null 2>&1; then
      endpoint="127.0.0.1:$client_port"
      break
    fi
    sleep 0.2
  done
  if [ -n "$endpoint" ]; then break; fi
  kill "$etcd_pid" 2>/dev/null || true
  wait "$etcd_pid" 2>/dev/null || true
  etcd_pid=""
  if ! grep -q "address already in use" "$work/etcd.log"; then
    echo "error: etcd did not become healthy:" >&2
    tail -n 20 "$work/etcd.log" >&2
    exit 1
  fi
  echo "port collision (attempt $attempt), retrying with new ports"
done
if [ -z "$endpoint" ]; then
  echo "error: could not start etcd on a free port" >&2
  exit 1
fi
echo "etcd $("$ETCD" --version | head -n 1 | awk '{print $3}') running at $endpoint (data in $work/etcd)"

ctl() { "$ETCDCTL" --endpoints="$endpoint" "$@"; }
echo "writing keys…"
for i in $(seq 1 100); do
  ctl put "/registry/pods/default/pod-$i" "$(head -c 600 /dev/urandom | base64 -w0)" >/dev/null
done
for i in $(seq 1 20); do
  ctl put "/registry/pods/default/pod-$i" "updated-$i" >/dev/null
done
ctl del --prefix "/registry/pods/default/pod-9" >/dev/null
ctl put /registry/configmaps/kube-system/drill "$(date -u +%FT%TZ)" >/dev/null

snapshot="$work/snapshot.db"
ctl snapshot save "$snapshot" >/dev/null 2>&1
echo "snapshot saved: $snapshot ($(stat -c %s "$snapshot") bytes)"
echo "etcdctl snapshot status (reference):"
"$ETCDCTL" snapshot status -w table "$snapshot"

echo
echo "== talos-recovery snapshot verify $snapshot"
dotnet run --project samples/Talos.Recovery.Cli -c Release -- snapshot verify "$snapshot"
echo
echo "== talos-recovery snapshot status $snapshot"
dotnet run --project samples/Talos.Recovery.Cli -c Release --no-build -- snapshot status "$snapshot"
echo
echo "drill finished"
