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
# Bytes of one write record in the C consumer baseline, equal to the agent's
# record for the bench write policy (args: int fd, size_t count):
# sizeof(struct gen_record) 64 + 2 x sizeof(struct gen_arg_hdr) 16, see
# bpf/generic/records.h.
FLOOR_WRITE_REC_SIZE="${FLOOR_WRITE_REC_SIZE:-96}"
CFLAGS=(-O2 -Wall -Wextra)

build_c() {
	local name
	for name in exec_loop write_loop exec_paced hold_procs sink; do
		"$CC" "${CFLAGS[@]}" -o "$OUT/$name" "$BENCH/c/$name.c"
	done
}

# build_floor_obj NAME VARIANT: VARIANT "" (wake-up per record) or
# "_batched" (FLOOR_BATCHED); makes $OUT/NAME$VARIANT.
build_floor_obj() {
	local name="$1" variant="$2" dir="$OUT/obj$2"
	local defs=(-DFLOOR_WRITE_REC_SIZE="$FLOOR_WRITE_REC_SIZE")
	[[ -n "$variant" ]] && defs+=(-DFLOOR_BATCHED)
	mkdir -p "$dir"
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall "${defs[@]}" \
		-I "$OUT" -I "$BENCH/floor" \
		-c "$BENCH/floor/$name.bpf.c" -o "$dir/$name.bpf.o"
	"$BPFTOOL" gen skeleton "$dir/$name.bpf.o" name "${name}_bpf" > "$dir/$name.skel.h"
	"$CC" "${CFLAGS[@]}" "${defs[@]}" -I "$dir" -I "$BENCH/floor" -o "$OUT/$name$variant" \
		"$BENCH/floor/$name.c" "$BENCH/floor/floor_common.c" -lbpf -lelf -lz
}

build_floor() {
	if [[ ! -s "$OUT/vmlinux.h" ]]; then
		"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h.tmp"
		mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
	fi
	local v
	for v in "" _batched; do
		build_floor_obj floor_proc "$v"
		build_floor_obj floor_write "$v"
	done
	"$CC" "${CFLAGS[@]}" -o "$OUT/bpf_stats" "$BENCH/c/bpf_stats.c" -lbpf
}

# The grpc-go fan-out client (bench/clients/fanout-go), built in GOPATH mode
# against Debian's grpc-go. Go is needed only here: if it cannot be
# installed or built, $OUT/fanout-go.why says why and the fan-out benchmark
# reports its grpc-go row as not run; the other benchmarks go on.
GO_PKGS=(golang-go golang-google-grpc-dev golang-golang-x-sys-dev)
GO_PATH_DEB=/usr/share/gocode

have_go_grpc() {
	command -v go >/dev/null 2>&1 &&
		[[ -d "$GO_PATH_DEB/src/google.golang.org/grpc" && -d "$GO_PATH_DEB/src/golang.org/x/sys/unix" ]]
}

install_go_grpc() {
	command -v apt-get >/dev/null 2>&1 || { echo "no apt-get to install ${GO_PKGS[*]}"; return 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${GO_PKGS[@]}" >/dev/null 2>&1 ||
		{ echo "apt-get install ${GO_PKGS[*]} failed"; return 1; }
}

build_go() {
	local why="$OUT/fanout-go.why" log
	rm -f "$why" "$OUT/fanout-go"
	if ! have_go_grpc; then
		echo "installing ${GO_PKGS[*]} for the grpc-go fan-out client" >&2
		if ! log="$(install_go_grpc)" || ! have_go_grpc; then
			echo "${log:-go or the Debian grpc-go sources missing after installing ${GO_PKGS[*]}}" > "$why"
			echo "fan-out grpc-go client not built: $(cat "$why")" >&2
			return 0
		fi
	fi
	if ! log="$(cd "$BENCH/clients/fanout-go" && GO111MODULE=off GOPATH="$GO_PATH_DEB" GOFLAGS= \
		GOCACHE="${GOCACHE:-$OUT/go-cache}" go build -o "$OUT/fanout-go" . 2>&1)"; then
		echo "go build failed: $(echo "$log" | tr '\n' ' ' | cut -c1-300)" > "$why"
		echo "fan-out grpc-go client not built: $(cat "$why")" >&2
	fi
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
	build_go
	mount_fs
	cd "$ROOT"
	FLOOR_WRITE_REC_SIZE="$FLOOR_WRITE_REC_SIZE" exec "$(find_bun)" "$BENCH/run.ts" "$@"
}

if [[ "${1:-}" == "--build-only" ]]; then mkdir -p "$OUT"; build_c; build_floor; build_go; exit 0; fi
main "$@"
