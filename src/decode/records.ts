/** bpf/records.h: the header every kernel→user record starts with, and the op
 * code of every record (checked against the header and the BTF by
 * tests/btf-layout.test.ts). */

/** struct fgs_record_header */
export const HEADER = { op: 0, size: 4, ktime: 8, bytes: 16 } as const;

export const OP_EXEC = 1;
export const OP_CLONE = 2;
export const OP_EXIT = 3;
export const OP_TEST = 4;
export const OP_KPROBE = 5;
export const OP_TRACEPOINT = 6;
