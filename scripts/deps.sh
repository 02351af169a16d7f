#!/usr/bin/env bash
# Installs what building and testing fgs needs on Debian 12, idempotently:
# Debian packages (toolchain, libbpf, test tools) and the npm lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make gcc git curl ca-certificates
  python3 python3-prometheus-client iproute2 util-linux procps
  chromium fonts-noto-color-emoji)  # headless browser (and emoji) for tests/console-*.test.ts

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return 0
  echo "installing Debian packages: $missing"
  if [ -z "${FGS_APT_UPDATED:-}" ]; then apt-get update -qq; export FGS_APT_UPDATED=1; fi
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

install_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then install_packages nodejs npm; fi
}

install_npm_packages() {
  if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "installing npm packages (package-lock.json)"
    # npm ci rejects this lockfile: npm 11 leaves out optional platform builds
    # (darwin, win32) that the registry here does not serve; install honours the lock.
    npm install --no-audit --no-fund --loglevel=error
  fi
  # bun's postinstall may be skipped by npm's script policy; its binary ships in the package.
  node_modules/.bin/bun --version >/dev/null
}

install_packages "${PACKAGES[@]}"
install_node
install_npm_packages
