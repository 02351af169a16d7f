#!/usr/bin/env bash
# One command on a fresh Debian 12 machine, as root: install, build, run the agent.
# Extra arguments go to `fgs agent` (e.g. --server-address 127.0.0.1:54321).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
exec dist/fgs agent "$@"
