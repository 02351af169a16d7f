// SPDX-License-Identifier: GPL-2.0
/* Policy hooks on tracepoints: any tracepoint (arguments at the offsets of its
 * format file) and the syscall tracepoints (sys_enter_* for the arguments,
 * sys_exit_* for the return value). One object is loaded per hook. */
#include "generic/gen_hook.h"

char LICENSE[] SEC("license") = "GPL";

/* A field of the record: from the copy of its head (s->tp_head) when it
 * lies there, aligned, else probe-read on its own. */
static __always_inline __u64 gen_tp_field(void *ctx, __u8 *head, __u16 off, __u16 size, __u8 flags)
{
	/* The address is only handed to probe-read; ctx itself is never dereferenced at a variable offset. */
	void *at = (char *)ctx + off;
	int in_head = off + size <= GEN_TP_HEAD && (off & (size - 1)) == 0;
	__u32 o = off & (GEN_TP_HEAD - 1);
	__u64 v = 0;

	switch (size) {
	case 1: {
		__u8 b = in_head ? head[o] : 0;

		if (!in_head)
			bpf_probe_read_kernel(&b, 1, at);
		return (flags & GEN_CF_SIGNED) ? (__u64)(__s64)(__s8)b : b;
	}
	case 2: {
		__u16 w = in_head ? *(__u16 *)&head[o & ~1U] : 0;

		if (!in_head)
			bpf_probe_read_kernel(&w, 2, at);
		return (flags & GEN_CF_SIGNED) ? (__u64)(__s64)(__s16)w : w;
	}
	case 4: {
		__u32 d = in_head ? *(__u32 *)&head[o & ~3U] : 0;

		if (!in_head)
			bpf_probe_read_kernel(&d, 4, at);
		return (flags & GEN_CF_SIGNED) ? (__u64)(__s64)(__s32)d : d;
	}
	default:
		if (size == 8 && in_head)
			return *(__u64 *)&head[o & ~7U];
		bpf_probe_read_kernel(&v, 8, at);
		return v;
	}
}

static __always_inline void gen_tp_fetch(void *ctx, __u8 *head, struct gen_arg_cfg *a, struct gen_raw *raw, __u32 i)
{
	__u64 size = a->size_fsize ? gen_tp_field(ctx, head, a->size_off, a->size_fsize, 0) : 0;
	__u64 v;

	if (a->flags & GEN_CF_INLINE) {
		v = (__u64)ctx + a->off;
		size = a->fsize;
	} else if (a->flags & GEN_CF_DATA_LOC) {
		__u32 loc = gen_tp_field(ctx, head, a->off, 4, 0);

		v = (__u64)ctx + (loc & 0xffff);
		size = loc >> 16;
	} else {
		v = gen_tp_field(ctx, head, a->off, a->fsize, a->flags);
	}
	raw->arg[i] = v;
	raw->size[i] = size;
}

SEC("tracepoint")
int gen_tp_enter(void *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	struct gen_scratch *s = gen_scratch();
	__u32 i;

	if (!cfg || !s)
		return 0;
	gen_task_begin(&s->task);
	/* One read for every field in the head: a helper call costs more than
	 * the compares that follow. Syscall tracepoints hand BPF a 64-byte copy
	 * (header, nr, six arguments); other records start a per-CPU perf buffer
	 * of 8 KiB. Bytes past a short record are read but never used. */
	bpf_probe_read_kernel(s->tp_head, GEN_TP_HEAD, ctx);
	for (i = 0; i < GEN_MAX_ARGS; i++) {
		if (i >= cfg->nargs)
			break;
		gen_tp_fetch(ctx, s->tp_head, &cfg->args[i], &s->p.raw, i);
	}
	gen_entry(cfg, s);
	return 0;
}

/* A raw tracepoint's arguments are its TP_PROTO's, by position. Read with
 * probe-read: a direct read would make the attach require that many arguments,
 * and raw_tp context reads cannot use a variable offset. */
static __always_inline __u64 gen_raw_tp_arg(struct bpf_raw_tracepoint_args *ctx, __u8 slot)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (char *)ctx + 8 * (slot & 7));
	return v;
}

SEC("raw_tp")
int gen_raw_tp_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	struct gen_scratch *s = gen_scratch();
	__u32 i;

	if (!cfg || !s)
		return 0;
	gen_task_begin(&s->task);
	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];

		if (i >= cfg->nargs)
			break;
		s->p.raw.arg[i] = gen_raw_tp_arg(ctx, a->slot);
		s->p.raw.size[i] = a->size_slot ? gen_raw_tp_arg(ctx, a->size_slot - 1) : 0;
	}
	gen_entry(cfg, s);
	return 0;
}

SEC("tracepoint")
int gen_tp_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();

	if (cfg)
		gen_exit(cfg, ctx->ret);
	return 0;
}
