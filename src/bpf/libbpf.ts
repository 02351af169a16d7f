import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { loadNativeLibraries } from "./native";

const { ptr, i32, u32, u64, i64, cstring, bool } = FFIType;
// size_t (bun-types does not declare FFIType.usize, which is u64 at run time).
const usize = FFIType.u64;

/** libbpf and runtime-shim entry points used by fgs. */
const SYMBOLS = {
  // runtime shim (bpf/runtime/fgs_runtime.c)
  fgs_log_init: { args: [i32], returns: FFIType.void },
  fgs_log_take: { args: [ptr, usize], returns: usize },
  fgs_object_open: { args: [ptr, usize, ptr, ptr], returns: ptr },
  fgs_attach: { args: [ptr, ptr], returns: ptr },
  fgs_attach_tracepoint: { args: [ptr, ptr, ptr, ptr], returns: ptr },
  fgs_attach_raw_tracepoint: { args: [ptr, ptr, ptr], returns: ptr },
  fgs_attach_kprobe: { args: [ptr, i32, ptr, ptr], returns: ptr },
  fgs_attach_trace: { args: [ptr, ptr], returns: ptr },
  fgs_attach_uprobe: { args: [ptr, i32, ptr, ptr, u64, u64, ptr], returns: ptr },
  fgs_attach_usdt: { args: [ptr, ptr, ptr, ptr, ptr], returns: ptr },
  fgs_errno: { args: [i32], returns: i32 },
  fgs_boot_to_realtime_offset_ns: { args: [], returns: i64 },
  fgs_boottime_ns: { args: [], returns: i64 },
  fgs_ring_map: { args: [i32, u32, ptr, ptr], returns: i32 },
  fgs_ring_unmap: { args: [ptr, ptr, u32], returns: FFIType.void },
  fgs_ring_take: { args: [ptr, ptr, u32, ptr, u32, u32, ptr], returns: i64 },
  fgs_page_size: { args: [], returns: i64 },
  fgs_map_max_entries: { args: [i32], returns: i64 },
  fgs_notifier_new: { args: [i32, i32, ptr], returns: ptr },
  fgs_notifier_alive: { args: [ptr], returns: i32 },
  fgs_notifier_wakeups: { args: [ptr], returns: u64 },
  fgs_notifier_free: { args: [ptr], returns: FFIType.void },
  fgs_notifier_halt: { args: [ptr], returns: FFIType.void },
  fgs_notifier_rearm: { args: [ptr], returns: i32 },
  fgs_socketpair: { args: [ptr], returns: i32 },
  fgs_close: { args: [i32], returns: i32 },
  fgs_object_load_async: { args: [ptr, ptr], returns: ptr },
  fgs_object_load_poll: { args: [ptr], returns: i32 },
  fgs_object_load_finish: { args: [ptr], returns: i32 },
  fgs_trim_heap: { args: [], returns: FFIType.void },
  // libbpf
  libbpf_major_version: { args: [], returns: u32 },
  libbpf_num_possible_cpus: { args: [], returns: i32 },
  bpf_object__load: { args: [ptr], returns: i32 },
  bpf_object__close: { args: [ptr], returns: FFIType.void },
  bpf_object__find_map_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_object__find_program_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_object__next_program: { args: [ptr, ptr], returns: ptr },
  bpf_map__fd: { args: [ptr], returns: i32 },
  bpf_map__reuse_fd: { args: [ptr, i32], returns: i32 },
  bpf_map__set_max_entries: { args: [ptr, u32], returns: i32 },
  bpf_map__key_size: { args: [ptr], returns: u32 },
  bpf_map__value_size: { args: [ptr], returns: u32 },
  bpf_map__set_initial_value: { args: [ptr, ptr, usize], returns: i32 },
  bpf_program__name: { args: [ptr], returns: cstring },
  bpf_program__section_name: { args: [ptr], returns: cstring },
  bpf_program__set_autoload: { args: [ptr, bool], returns: i32 },
  bpf_program__set_attach_target: { args: [ptr, i32, ptr], returns: i32 },
  bpf_program__fd: { args: [ptr], returns: i32 },
  bpf_link__destroy: { args: [ptr], returns: i32 },
  bpf_map_update_elem: { args: [i32, ptr, ptr, u64], returns: i32 },
  bpf_map_lookup_elem: { args: [i32, ptr, ptr], returns: i32 },
  bpf_map_delete_elem: { args: [i32, ptr], returns: i32 },
  bpf_map_get_next_key: { args: [i32, ptr, ptr], returns: i32 },
  bpf_obj_get_info_by_fd: { args: [i32, ptr, ptr], returns: i32 },
  bpf_enable_stats: { args: [i32], returns: i32 },
} as const;

type Symbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
// bun-types says a `ptr` return may be a bigint; Bun returns pointers as numbers.
type PointerReturn<R> = Pointer extends R ? Exclude<R, bigint> : R;
export type Libbpf = {
  [K in keyof Symbols]: Symbols[K] extends (...args: infer A) => infer R ? (...args: A) => PointerReturn<R> : never;
};

function openLibbpf(): Libbpf {
  return dlopen(loadNativeLibraries(), SYMBOLS).symbols as Libbpf;
}

let instance: Libbpf | undefined;

/** The process-wide libbpf binding (dlopen is process-wide by nature). */
export function libbpf(): Libbpf {
  if (!instance) {
    instance = openLibbpf();
    instance.fgs_log_init(process.env.FGS_LIBBPF_DEBUG ? 1 : 0);
  }
  return instance;
}

export type { Pointer };

/** NUL-terminated C string for FFI arguments (kept alive by the caller). */
export function cString(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** Drains libbpf's captured log (warnings, verifier output). */
export function takeLibbpfLog(): string {
  const buf = Buffer.alloc(256 * 1024);
  const n = Number(libbpf().fgs_log_take(buf, buf.length));
  return buf.subarray(0, n).toString("utf8");
}
