/* Arguments from pt_regs (x86-64). Kernel functions pass them in di, si, dx,
 * cx, r8, r9; a syscall wrapper (__x64_sys_*) receives one pointer to the
 * user's pt_regs, where the syscall ABI puts the 4th argument in r10. */
#ifndef FGS_GENERIC_REGS_H
#define FGS_GENERIC_REGS_H

static __always_inline __u64 gen_regs_arg(struct pt_regs *regs, __u32 n, int syscall)
{
	switch (n) {
	case 0:
		return BPF_CORE_READ(regs, di);
	case 1:
		return BPF_CORE_READ(regs, si);
	case 2:
		return BPF_CORE_READ(regs, dx);
	case 3:
		return syscall ? BPF_CORE_READ(regs, r10) : BPF_CORE_READ(regs, cx);
	case 4:
		return BPF_CORE_READ(regs, r8);
	case 5:
		return BPF_CORE_READ(regs, r9);
	}
	return 0;
}

/* Fills raw from a register set: the arguments and their size arguments. */
static __always_inline void gen_fetch_regs(struct gen_hook_cfg *cfg, struct gen_raw *raw,
					   struct pt_regs *regs, int syscall)
{
	__u32 i;

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];

		if (i >= cfg->nargs)
			break;
		raw->arg[i] = gen_regs_arg(regs, a->slot, syscall);
		raw->size[i] = a->size_slot ? gen_regs_arg(regs, a->size_slot - 1, syscall) : 0;
	}
}

#endif
