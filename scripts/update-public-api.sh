#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to the project's
# PublicAPI.Unshipped.txt, then sorts it. Run after adding public API on purpose; review the diff.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for project in src/*/; do
  name=$(basename "$project")
  out=$(dotnet build "$project$name.csproj" --no-incremental -nologo 2>&1 || true)
  symbols=$(printf '%s\n' "$out" | grep -F "/$name.csproj]" | grep -o "RS0016: Symbol '[^']*'" | sed "s/^RS0016: Symbol '//; s/'\$//" | sort -u || true)
  [ -n "$symbols" ] || continue
  file="$project/PublicAPI.Unshipped.txt"
  { tail -n +2 "$file"; printf '%s\n' "$symbols"; } | sort -u > "$file.new"
  { echo '#nullable enable'; cat "$file.new"; } > "$file"
  rm -f "$file.new"
  echo "$name: $(printf '%s\n' "$symbols" | wc -l) symbols added"
done
