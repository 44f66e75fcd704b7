#!/usr/bin/env bash
# The main job: a disaster-recovery drill on an embedded simulated Talos cluster. `talos-recovery drill` starts the
# Talos node simulator (the machine API over Ed25519 mutual TLS on loopback, every control-plane node backed by a real
# etcd), writes Kubernetes-shaped data, takes a backup, destroys quorum, recovers with the SDK (assess, plan, execute)
# and exits 0 only when the restored cluster holds exactly the data of the backup. Arguments are passed on, e.g.
#   bash scripts/drill.sh --nodes 1 --from raw-copy
# Installs etcd 3.4 with apt-get when missing. The drill removes its files and processes when it ends, also on Ctrl+C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/prerequisites.sh
source scripts/prerequisites.sh

ensure_etcd
ensure_dotnet
dotnet build samples/Talos.Recovery.Cli -c Release -nologo -v quiet >/dev/null
exec samples/Talos.Recovery.Cli/bin/Release/net10.0/talos-recovery drill "$@"
