// SPDX-License-Identifier: GPL-2.0
/* Policy hooks on kernel functions through BPF trampolines (fentry/fexit,
 * fmod_ret for Override), for kernels with BTF but no kprobes. The attach
 * target is set before load, so one object is loaded per hook. */
#include "generic/gen_hook.h"
#include "generic/regs.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u64 gen_func_arg(void *ctx, __u32 n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

static __always_inline void gen_fetch_func_args(void *ctx, struct gen_hook_cfg *cfg, struct gen_raw *raw)
{
	__u32 i;

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];

		if (i >= cfg->nargs)
			break;
		raw->arg[i] = gen_func_arg(ctx, a->slot);
		raw->size[i] = a->size_slot ? gen_func_arg(ctx, a->size_slot - 1) : 0;
	}
}

static __always_inline long gen_trampoline_entry(void *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	struct gen_scratch *s = gen_scratch();

	if (!cfg || !s)
		return 0;
	gen_task_begin(&s->task);
	if (cfg->flags & GEN_HF_SYSCALL)
		gen_fetch_regs(cfg, s, (const void *)gen_func_arg(ctx, 0), 1);
	else
		gen_fetch_func_args(ctx, cfg, &s->p.raw);
	return gen_entry(cfg, s);
}

SEC("fentry")
int gen_fentry_enter(void *ctx)
{
	gen_trampoline_entry(ctx);
	return 0;
}

/* Override where kprobes cannot: the kernel lets fmod_ret replace the return
 * value of security_* hooks and of error-injectable functions. A non-zero
 * return skips the function and becomes its return value. */
SEC("fmod_ret")
int gen_fmodret_enter(void *ctx)
{
	return gen_trampoline_entry(ctx);
}

/* An LSM program's context is the hook's arguments as u64s. Read with
 * probe-read, as tracepoint fields are: bpf_get_func_arg is not offered to
 * LSM programs by every kernel, and a direct read at a variable offset is
 * refused. */
static __always_inline __u64 gen_lsm_arg(void *ctx, __u8 n)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (char *)ctx + 8 * (n & 7));
	return v;
}

static __always_inline void gen_fetch_lsm_args(void *ctx, struct gen_hook_cfg *cfg, struct gen_raw *raw)
{
	__u32 i;

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];

		if (i >= cfg->nargs)
			break;
		raw->arg[i] = gen_lsm_arg(ctx, a->slot);
		raw->size[i] = a->size_slot ? gen_lsm_arg(ctx, a->size_slot - 1) : 0;
	}
}

/* spec.lsmhooks: a BPF LSM program; its return value is the hook's verdict
 * (an Override's argError denies, 0 lets the other security modules decide).
 * The kernel takes only 0 or a negative errno from it. */
SEC("lsm")
int gen_lsm_enter(void *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	struct gen_scratch *s = gen_scratch();
	long err;

	if (!cfg || !s)
		return 0;
	gen_task_begin(&s->task);
	gen_fetch_lsm_args(ctx, cfg, &s->p.raw);
	err = gen_entry(cfg, s);
	gen_barrier_var(err);
	if (err < -4095 || err > 0)
		return 0;
	return (int)err;
}

SEC("fexit")
int gen_fexit_exit(void *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	__u64 ret = 0;

	if (!cfg)
		return 0;
	bpf_get_func_ret(ctx, &ret);
	gen_exit(cfg, (__s64)ret);
	return 0;
}
