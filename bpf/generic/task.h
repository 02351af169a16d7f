/* The calling task as selectors see it: ids, namespaces, capabilities now,
 * and the ones execve_map recorded at exec. */
#ifndef FGS_GENERIC_TASK_H
#define FGS_GENERIC_TASK_H

#define GEN_PID_LEVEL_MASK 31

static __always_inline __u32 gen_task_nspid(struct task_struct *task, struct pid_namespace **ns)
{
	struct upid up = {};
	struct pid *pid = task->thread_pid;
	__u32 level = pid->level;

	bpf_core_read(&up, sizeof(up), &pid->numbers[level & GEN_PID_LEVEL_MASK]);
	*ns = up.ns;
	return up.nr;
}

/* Same order as struct fgs_namespaces and NAMESPACE_INDEX in src/policy/model/names.ts.
 * task comes from bpf_get_current_task_btf(): fields are read directly. */
static __always_inline void gen_task_ns(__u32 *ns, struct task_struct *task, struct pid_namespace *pidns)
{
	struct nsproxy *nsp = task->nsproxy;

	ns[0] = nsp->uts_ns->ns.inum;
	ns[1] = nsp->ipc_ns->ns.inum;
	ns[2] = nsp->mnt_ns->ns.inum;
	ns[3] = BPF_CORE_READ(pidns, ns.inum);
	ns[4] = nsp->pid_ns_for_children->ns.inum;
	ns[5] = nsp->net_ns->ns.inum;
	if (bpf_core_field_exists(nsp->time_ns)) {
		ns[6] = nsp->time_ns->ns.inum;
		ns[7] = nsp->time_ns_for_children->ns.inum;
	}
	ns[8] = nsp->cgroup_ns->ns.inum;
	ns[9] = task->cred->user_ns->ns.inum;
}

static __always_inline void gen_read_cred_caps(__u64 *caps, const struct cred *cred)
{
	/* kernel_cap_t: u32[2] before 6.3, u64 since; 8 bytes either way */
	bpf_core_read(&caps[GEN_CAP_EFFECTIVE], 8, &cred->cap_effective);
	bpf_core_read(&caps[GEN_CAP_INHERITABLE], 8, &cred->cap_inheritable);
	bpf_core_read(&caps[GEN_CAP_PERMITTED], 8, &cred->cap_permitted);
}

static __always_inline void gen_task_exec_state(struct gen_task *t)
{
	__u32 tgid = t->tgid;
	struct fgs_process_state *st = bpf_map_lookup_elem(&execve_map, &tgid);

	t->has_state = st != NULL;
	if (!st)
		return;
	t->exec_ns[0] = st->ns.uts;
	t->exec_ns[1] = st->ns.ipc;
	t->exec_ns[2] = st->ns.mnt;
	t->exec_ns[3] = st->ns.pid;
	t->exec_ns[4] = st->ns.pid_for_children;
	t->exec_ns[5] = st->ns.net;
	t->exec_ns[6] = st->ns.time;
	t->exec_ns[7] = st->ns.time_for_children;
	t->exec_ns[8] = st->ns.cgroup;
	t->exec_ns[9] = st->ns.user;
	t->exec_caps[GEN_CAP_EFFECTIVE] = st->caps.effective;
	t->exec_caps[GEN_CAP_INHERITABLE] = st->caps.inheritable;
	t->exec_caps[GEN_CAP_PERMITTED] = st->caps.permitted;
}

/* Starts a call: nothing is read until a selector or the record needs it. */
static __always_inline void gen_task_begin(struct gen_task *t)
{
	t->have = 0;
	t->bin_found = 0;
}

/* Reads the parts in want (GEN_TK_*, not GEN_TK_BIN) not read yet in this call. */
static __always_inline void gen_task_need(struct gen_task *t, __u32 want)
{
	struct pid_namespace *pidns = NULL;
	struct task_struct *task;
	const struct cred *cred;

	if (want & GEN_TK_EXEC)
		want |= GEN_TK_IDS;
	want &= ~t->have;
	if (!want)
		return;
	if (want & GEN_TK_IDS) {
		__u64 id = bpf_get_current_pid_tgid();

		t->tgid = id >> 32;
		t->pid = (__u32)id;
	}
	t->have |= GEN_TK_IDS & want;
	want &= ~GEN_TK_IDS;
	if (!want)
		return;
	task = bpf_get_current_task_btf();
	/* the thread group's pid in its namespace, like tgid; ns[3] needs its namespace */
	if (want & (GEN_TK_NSPID | GEN_TK_NS))
		t->nspid = gen_task_nspid(task->group_leader, &pidns);
	if (want & GEN_TK_NS) {
		t->ns[6] = 0;
		t->ns[7] = 0;
		gen_task_ns(t->ns, task, pidns);
	}
	if (want & GEN_TK_CAPS) {
		cred = task->cred;
		gen_read_cred_caps(t->caps, cred);
		t->ns[9] = cred->user_ns->ns.inum;
	}
	if (want & GEN_TK_EXEC)
		gen_task_exec_state(t);
	t->have |= want;
}

#endif
