// SPDX-License-Identifier: GPL-2.0
/* Policy hooks on kernel functions through kprobes: entry (with or without
 * bpf_override_return, which only loads where the kernel has error injection)
 * and kretprobe for the return value. One object is loaded per hook. */
#include "generic/gen_hook.h"
#include "generic/regs.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline long gen_kprobe_common(struct pt_regs *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();
	struct gen_scratch *s = gen_scratch();
	const void *regs = ctx;
	int syscall;

	if (!cfg || !s)
		return 0;
	gen_task_begin(&s->task);
	syscall = cfg->flags & GEN_HF_SYSCALL;
	if (syscall)
		regs = (const void *)PT_REGS_PARM1(ctx);
	gen_fetch_regs(cfg, s, regs, syscall);
	return gen_entry(cfg, s);
}

SEC("kprobe")
int gen_kprobe_enter(struct pt_regs *ctx)
{
	gen_kprobe_common(ctx);
	return 0;
}

SEC("kprobe")
int gen_kprobe_override(struct pt_regs *ctx)
{
	long err = gen_kprobe_common(ctx);

	if (err)
		bpf_override_return(ctx, err);
	return 0;
}

SEC("kretprobe")
int gen_kretprobe_exit(struct pt_regs *ctx)
{
	struct gen_hook_cfg *cfg = gen_config();

	if (cfg)
		gen_exit(cfg, PT_REGS_RC_CORE(ctx));
	return 0;
}
