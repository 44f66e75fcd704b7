#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to the project's
# PublicAPI.Unshipped.txt and drops the ones reported as gone (RS0017), then sorts it. One build of the
# packable projects. Run after changing public API on purpose; review the diff.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for project in src/*/; do
  name=$(basename "$project")
  dotnet build "$project$name.csproj" --no-incremental -nologo -v quiet >>"$log" 2>&1 || true
done
for project in src/*/; do
  name=$(basename "$project")
  file="$project/PublicAPI.Unshipped.txt"
  added=$(grep -F "/$name.csproj]" "$log" | grep -o "RS0016: Symbol '[^']*'" | sed "s/^RS0016: Symbol '//; s/'\$//" | sort -u || true)
  removed=$(grep -F "/$name.csproj]" "$log" | grep -o "RS0017: Symbol '[^']*'" | sed "s/^RS0017: Symbol '//; s/'\$//" | sort -u || true)
  [ -n "$added$removed" ] || continue
  { tail -n +2 "$file"; [ -z "$added" ] || printf '%s\n' "$added"; } | sort -u \
    | { if [ -n "$removed" ]; then grep -vxF -f <(printf '%s\n' "$removed"); else cat; fi; } > "$file.new" || true
  { echo '#nullable enable'; cat "$file.new"; } > "$file"
  rm -f "$file.new"
  echo "$name: $(printf '%s' "$added" | grep -c . || true) added, $(printf '%s' "$removed" | grep -c . || true) removed"
done
