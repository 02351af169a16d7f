/* Common header of every kernel-to-user record. Each record family defines
 * its layout in its own header next to this one; src/decode mirrors them and
 * tests/btf-layout.test.ts checks the offsets against the compiled BTF. */
#ifndef FGS_RECORDS_H
#define FGS_RECORDS_H

enum fgs_record_op {
	FGS_OP_EXEC = 1,
	FGS_OP_CLONE = 2,
	FGS_OP_EXIT = 3,
	FGS_OP_TEST = 4,
	FGS_OP_KPROBE = 5,
	FGS_OP_TRACEPOINT = 6,
};

struct fgs_record_header {
	__u32 op;    /* enum fgs_record_op */
	__u32 size;  /* bytes of the whole record, header included */
	__u64 ktime; /* bpf_ktime_get_boot_ns() when the record was made */
};

#endif
