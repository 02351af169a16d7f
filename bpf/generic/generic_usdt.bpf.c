// SPDX-License-Identifier: GPL-2.0
/* Policy hooks on USDT probes (spec.usdts): libbpf attaches a uprobe at each
 * probe site and describes where each argument lives; bpf_usdt_arg reads it.
 * One object is loaded per hook. */
#include "generic/gen_hook.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u64 gen_usdt_arg(struct pt_regs *ctx, __u8 n)
{
	long v = 0;

	bpf_usdt_arg(ctx, n, &v);
	return v;
}

SEC("usdt")
int gen_usdt_enter(struct pt_regs *ctx)
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
		s->p.raw.arg[i] = gen_usdt_arg(ctx, a->slot);
		s->p.raw.size[i] = a->size_slot ? gen_usdt_arg(ctx, a->size_slot - 1) : 0;
	}
	gen_entry(cfg, s);
	return 0;
}
