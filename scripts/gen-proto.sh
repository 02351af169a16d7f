#!/usr/bin/env bash
# Regenerates gen/ from proto/ with protoc-gen-es (see buf.gen.yaml).
# Usage: scripts/gen-proto.sh [OUTPUT_DIR]   (default: gen)
# tests/unit/proto.test.ts calls it with a temporary directory to detect a stale gen/.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

output_dir="${1:-gen}"
buf="$repo_root/node_modules/.bin/buf"
plugin="$repo_root/node_modules/.bin/protoc-gen-es"

for tool in "$buf" "$plugin"; do
  if [[ ! -x "$tool" ]]; then
    echo "gen-proto: $tool is missing; run 'npm ci' first" >&2
    exit 1
  fi
done

if [[ "$output_dir" == "gen" ]]; then
  "$buf" generate
else
  # Same plugin and options as buf.gen.yaml, but into another directory.
  "$buf" generate --template "$(sed "s#out: gen#out: $output_dir#" buf.gen.yaml)"
fi
