#!/usr/bin/env bash
# bun run bench [-- options of bench/run.ts]
# Builds the benchmark programs and the floor baselines (bench/build/, not
# part of the main build), then runs every benchmark with its baselines
# side by side. Needs root (BPF, tracefs). Reports only; never fails on a
# figure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
OUT="$BENCH/build"
CC="${CC:-gcc}"
CLANG="${CLANG:-clang}"
BPFTOOL="${BPFTOOL:-bpftool}"
# Bytes of one write record in the C consumer baseline; keep it equal to the
# agent's record for the write policy (bench/run.ts prints both).
FLOOR_WRITE_REC_SIZE="${FLOOR_WRITE_REC_SIZE:-64}"
CFLAGS=(-O2 -Wall -Wextra)

build_c() {
	local name
	for name in exec_loop write_loop exec_paced hold_procs sink; do
		"$CC" "${CFLAGS[@]}" -o "$OUT/$name" "$BENCH/c/$name.c"
	done
}

build_floor_obj() {
	local name="$1"
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall \
		-DFLOOR_WRITE_REC_SIZE="$FLOOR_WRITE_REC_SIZE" \
		-I "$OUT" -I "$BENCH/floor" \
		-c "$BENCH/floor/$name.bpf.c" -o "$OUT/$name.bpf.o"
	"$BPFTOOL" gen skeleton "$OUT/$name.bpf.o" name "${name}_bpf" > "$OUT/$name.skel.h"
	"$CC" "${CFLAGS[@]}" -DFLOOR_WRITE_REC_SIZE="$FLOOR_WRITE_REC_SIZE" \
		-I "$OUT" -I "$BENCH/floor" -o "$OUT/$name" \
		"$BENCH/floor/$name.c" "$BENCH/floor/floor_common.c" -lbpf -lelf -lz
}

build_floor() {
	if [[ ! -s "$OUT/vmlinux.h" ]]; then
		"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h.tmp"
		mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
	fi
	build_floor_obj floor_proc
	build_floor_obj floor_write
}

mount_fs() {
	if [[ ! -e /sys/kernel/tracing/events ]]; then
		mount -t tracefs none /sys/kernel/tracing 2>/dev/null || true
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
	fi
}

find_bun() {
	if command -v bun >/dev/null 2>&1; then
		command -v bun
	else
		echo "$ROOT/node_modules/.bin/bun"
	fi
}

main() {
	mkdir -p "$OUT"
	build_c
	build_floor
	mount_fs
	cd "$ROOT"
	FLOOR_WRITE_REC_SIZE="$FLOOR_WRITE_REC_SIZE" exec "$(find_bun)" "$BENCH/run.ts" "$@"
}

if [[ "${1:-}" == "--build-only" ]]; then mkdir -p "$OUT"; build_c; build_floor; exit 0; fi
main "$@"
