#!/usr/bin/env bash
# Side by side: `talos-recovery etcd snapshot save` against `etcdctl snapshot save` from the same live etcd,
# interleaved, N runs each, medians of wall time and peak RSS (GNU time). Ours includes what etcdctl does not do:
# the full bbolt verification, the SHA-256 check and the status computation before the rename.
#
# The etcd serves the ~800 MB dataset of compare-etcdctl.sh (600,000 keys of ~1 KiB), restored once into a
# temporary data directory. Pass a snapshot path as $1 to use another one.
#
#   benchmarks/compare-etcdctl-save.sh [SNAPSHOT] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${2:-${RUNS:-5}}
cache=${TALOS_RECOVERY_BENCH_CACHE:-$HOME/.cache/talos-recovery/bench}
snapshot=${1:-$cache/etcd-600k-1KiB.snapshot}

command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server etcd-client" >&2; exit 1; }
command -v etcdctl >/dev/null || { echo "etcdctl not found: apt-get install etcd-client" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time not found: apt-get install time" >&2; exit 1; }
[ -f "$snapshot" ] || { echo "no dataset at $snapshot: run benchmarks/compare-etcdctl.sh once to build it" >&2; exit 1; }

echo "building (Release)…" >&2
dotnet build "$root/samples/Talos.Recovery.Cli" -c Release -v quiet -nologo >/dev/null
cli="$root/samples/Talos.Recovery.Cli/bin/Release/net10.0/talos-recovery"

export ETCDCTL_API=3
tmp=$(mktemp -d)
etcd_pid=
cleanup() {
  if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Two free loopback ports, chosen at run time.
read -r client_port peer_port < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
client="http://127.0.0.1:$client_port"
peer="http://127.0.0.1:$peer_port"

echo "restoring $snapshot ($(stat -c %s "$snapshot") bytes) into a temporary data directory…" >&2
restore=(snapshot restore "$snapshot" --data-dir "$tmp/data" --name bench \
  --initial-cluster "bench=$peer" --initial-advertise-peer-urls "$peer")
if command -v etcdutl >/dev/null; then etcdutl "${restore[@]}" >/dev/null 2>&1; else etcdctl "${restore[@]}" >/dev/null 2>&1; fi

etcd --name bench --data-dir "$tmp/data" --listen-client-urls "$client" --advertise-client-urls "$client" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "bench=$peer" \
  --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) >"$tmp/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 120); do
  etcdctl --endpoints "$client" endpoint health >/dev/null 2>&1 && break
  kill -0 "$etcd_pid" 2>/dev/null || { tail -20 "$tmp/etcd.log" >&2; exit 1; }
  sleep 0.5
done
etcdctl --endpoints "$client" endpoint health >/dev/null 2>&1 || { tail -20 "$tmp/etcd.log" >&2; exit 1; }
echo "etcd: $(etcd --version | head -1), $client"
echo "etcdctl: $(etcdctl version | head -1)"

# Correctness first: both files must have the same status (no writes happen in between).
etcdctl --endpoints "$client" snapshot save "$tmp/theirs.db" >/dev/null 2>&1
"$cli" etcd snapshot save "$tmp/ours.db" --endpoints "$client" --overwrite
theirs=$(etcdctl snapshot status -w json "$tmp/theirs.db")
ours=$(etcdctl snapshot status -w json "$tmp/ours.db")
echo "etcdctl status of ours:   $ours"
echo "etcdctl status of theirs: $theirs"
[ "$ours" = "$theirs" ] || { echo "MISMATCH between the two saves" >&2; exit 1; }
size=$(stat -c %s "$tmp/ours.db")

measure() { # name, command...
  local name=$1; shift
  rm -f "$tmp/out.db"
  sync
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  read -r secs kb < "$tmp/t"
  echo "$secs" >> "$tmp/$name.secs"
  echo "$kb" >> "$tmp/$name.kb"
}
for i in $(seq 1 "$runs"); do
  measure etcdctl-save etcdctl --endpoints "$client" snapshot save "$tmp/out.db"
  measure ours-save "$cli" etcd snapshot save "$tmp/out.db" --endpoints "$client"
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(median "$tmp/etcdctl-save.secs")
printf '\nsnapshot: %s bytes\n' "$size"
printf '%-38s %10s %12s %8s %10s\n' "command ($runs runs, interleaved)" "median s" "peak RSS MB" "ratio" "MB/s"
for name in etcdctl-save ours-save; do
  s=$(median "$tmp/$name.secs"); kb=$(median "$tmp/$name.kb")
  awk -v n="$name" -v s="$s" -v kb="$kb" -v b="$base" -v size="$size" \
    'BEGIN { printf "%-38s %10.3f %12.1f %8.2f %10.1f\n", n, s, kb / 1024, (b > 0 ? s / b : 0), (s > 0 ? size / 1048576 / s : 0) }'
done
for name in etcdctl-save ours-save; do
  echo "$name runs: $(paste -sd' ' "$tmp/$name.secs") s; peak RSS $(awk '{printf "%.1f ", $1 / 1024}' "$tmp/$name.kb")MB"
done
