/* Arguments from pt_regs (x86-64). Kernel functions pass them in di, si, dx,
 * cx, r8, r9; a syscall wrapper (__x64_sys_*) receives one pointer to the
 * user's pt_regs, where the syscall ABI puts the 4th argument in r10. */
#ifndef FGS_GENERIC_REGS_H
#define FGS_GENERIC_REGS_H

/* regs: a copy in the scratch map, read directly. */
static __always_inline __u64 gen_regs_arg(struct pt_regs *regs, __u32 n, int syscall)
{
	switch (n) {
	case 0:
		return regs->di;
	case 1:
		return regs->si;
	case 2:
		return regs->dx;
	case 3:
		return syscall ? regs->r10 : regs->cx;
	case 4:
		return regs->r8;
	case 5:
		return regs->r9;
	}
	return 0;
}

/* Fills raw from a register set (ctx, or the user's registers a syscall
 * wrapper gets): the arguments and their size arguments. The set is copied
 * with one probe-read: one helper call instead of one per register. */
static __always_inline void gen_fetch_regs(struct gen_hook_cfg *cfg, struct gen_scratch *s,
					   const void *from, int syscall)
{
	struct gen_raw *raw = &s->p.raw;
	struct pt_regs *regs = &s->regs;
	__u32 i;

	if (bpf_probe_read_kernel(regs, sizeof(*regs), from))
		__builtin_memset(regs, 0, sizeof(*regs));

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];

		if (i >= cfg->nargs)
			break;
		raw->arg[i] = gen_regs_arg(regs, a->slot, syscall);
		raw->size[i] = a->size_slot ? gen_regs_arg(regs, a->size_slot - 1, syscall) : 0;
	}
}

#endif
