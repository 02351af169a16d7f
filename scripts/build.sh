#!/usr/bin/env bash
# Builds dist/fgs: BPF objects (CO-RE, against this machine's BTF), the native
# runtime shim, then one bun-compiled executable that embeds them all.
set -euo pipefail
cd "$(dirname "$0")/.."

BUN=./node_modules/.bin/bun
NATIVE=bpf/build/native
LIBDIR=/usr/lib/x86_64-linux-gnu

build_bpf() {
  mkdir -p bpf/build
  make -s -C bpf
  "$BUN" scripts/pack-bpf.ts
}

build_native() {
  mkdir -p "$NATIVE"
  cc -O2 -g -Wall -Wextra -fPIC -shared -o "$NATIVE/libfgs_runtime.so" \
    bpf/runtime/fgs_runtime.c -lbpf -lpthread -Wl,-rpath,'$ORIGIN'
  # Debian ships libbpf/libelf only as non-PIC static archives, so the
  # executable carries these shared objects and loads them from a private dir.
  for lib in libbpf.so.1 libelf.so.1 libz.so.1; do
    cp -L "$LIBDIR/$lib" "$NATIVE/$lib"
  done
}

# The web console served at GET / (src/console): bundled for browsers and
# packed into one file that src/console/assets.ts embeds.
build_console() {
  "$BUN" scripts/pack-console.ts
}

build_executable() {
  local commit version
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ]; then commit="$commit-dirty"; fi
  version=$(node -p 'require("./package.json").version')
  mkdir -p dist
  "$BUN" build --compile --minify-syntax \
    --define "FGS_BUILD_COMMIT=\"$commit\"" --define "FGS_BUILD_VERSION=\"$version\"" \
    src/main.ts --outfile dist/fgs >/dev/null
  echo "built dist/fgs ($(du -h dist/fgs | cut -f1), version $version, commit $commit)"
}

build_bpf
build_native
build_console
build_executable
