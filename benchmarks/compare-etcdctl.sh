#!/usr/bin/env bash
# Side by side: `talos-recovery snapshot status|verify` against `etcdctl snapshot status` on the same file,
# interleaved, N runs each, medians of wall time and peak RSS (GNU time).
#
# The file is an ~800 MB etcd snapshot (600,000 keys of ~1 KiB) made once by a real etcd and cached under
# $TALOS_RECOVERY_BENCH_CACHE (default ~/.cache/talos-recovery/bench). Pass a path as $1 to use another file.
#
#   benchmarks/compare-etcdctl.sh [SNAPSHOT] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${2:-7}
cache=${TALOS_RECOVERY_BENCH_CACHE:-$HOME/.cache/talos-recovery/bench}
snapshot=${1:-$cache/etcd-600k-1KiB.snapshot}

command -v etcdctl >/dev/null || { echo "etcdctl not found: apt-get install etcd-server etcd-client" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time not found: apt-get install time" >&2; exit 1; }

echo "building (Release)…" >&2
dotnet build "$root/samples/Talos.Recovery.Cli" -c Release -v quiet -nologo >/dev/null
dotnet build "$root/benchmarks/Talos.Recovery.Benchmarks" -c Release -v quiet -nologo >/dev/null
cli="$root/samples/Talos.Recovery.Cli/bin/Release/net10.0/talos-recovery"

if [ ! -f "$snapshot" ]; then
  mkdir -p "$(dirname "$snapshot")"
  echo "building the dataset once (600,000 keys of ~1 KiB in a real etcd; several minutes)…" >&2
  dotnet "$root/benchmarks/Talos.Recovery.Benchmarks/bin/Release/net10.0/Talos.Recovery.Benchmarks.dll" \
    dataset --out "$snapshot" --keys 600000 --value-size 1024
fi

export ETCDCTL_API=3
size=$(stat -c %s "$snapshot")
echo "file: $snapshot ($size bytes)"
echo "etcdctl: $(etcdctl version | head -1)"
# Warm the page cache so that every tool reads from memory, as in the measured runs.
cat "$snapshot" > /dev/null

# Correctness first: the numbers must agree.
ours=$("$cli" snapshot status -w json "$snapshot")
theirs=$(etcdctl snapshot status -w json "$snapshot")
echo "talos-recovery: $ours"
echo "etcdctl:        $theirs"
[ "$ours" = "$theirs" ] || { echo "MISMATCH between talos-recovery and etcdctl" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  read -r secs kb < "$tmp/t"
  echo "$secs" >> "$tmp/$name.secs"
  echo "$kb" >> "$tmp/$name.kb"
}
for i in $(seq 1 "$runs"); do
  measure etcdctl-status etcdctl snapshot status "$snapshot"
  measure ours-status "$cli" snapshot status "$snapshot"
  measure ours-verify "$cli" snapshot verify "$snapshot"
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(median "$tmp/etcdctl-status.secs")
printf '\n%-38s %10s %12s %8s\n' "command ($runs runs, interleaved)" "median s" "peak RSS MB" "ratio"
for name in etcdctl-status ours-status ours-verify; do
  s=$(median "$tmp/$name.secs"); kb=$(median "$tmp/$name.kb")
  awk -v n="$name" -v s="$s" -v kb="$kb" -v b="$base" 'BEGIN { printf "%-38s %10.3f %12.1f %8.2f\n", n, s, kb / 1024, (b > 0 ? s / b : 0) }'
done
