#!/usr/bin/env bash
# The one test command: installs etcd and Go when missing (Debian), builds and runs the whole test suite,
# and ends with the line "N passed, N failed[, N skipped]". Exit code is non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/prerequisites.sh
source scripts/prerequisites.sh

ensure_etcd
ensure_go
ensure_dotnet

results="$(mktemp -d "${TMPDIR:-/tmp}/talos-recovery-test-results.XXXXXX")"
trap 'rm -rf "$results"' EXIT

set +e
dotnet test Talos.Recovery.sln -c Release \
  --logger "trx" --logger "console;verbosity=normal" \
  --results-directory "$results"
status=$?
set -e

shopt -s nullglob
trx_files=("$results"/*.trx)
if [ ${#trx_files[@]} -eq 0 ]; then
  echo "error: no test results were written (dotnet test exited with $status; see the build output above)." >&2
  exit $(( status == 0 ? 1 : status ))
fi

# Sum the <Counters …/> of every TRX file (one per test project).
counter() { # counter NAME FILE
  grep -o "<Counters [^>]*" "$2" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0
}
# Ignored tests are not "executed" and get no counter of their own: skipped = total - passed - failed.
passed=0 failed=0 total=0
for trx in "${trx_files[@]}"; do
  total=$(( total + $(counter total "$trx") ))
  passed=$(( passed + $(counter passed "$trx") ))
  failed=$(( failed + $(counter failed "$trx") + $(counter error "$trx") + $(counter timeout "$trx") + $(counter aborted "$trx") ))
done
skipped=$(( total - passed - failed ))

summary="$passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then
  summary="$summary, $skipped skipped"
fi
echo
echo "$summary"

if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
  exit 1
fi
