/* The part of every policy hook program that does not depend on how it is
 * attached: encode arguments, evaluate selectors, act, emit. The programs
 * (generic_*.bpf.c) only fetch raw argument values and the return value.
 *
 * Big steps are global (non-static) functions: the verifier checks each once,
 * whatever the number of arguments, selectors and matchers. */
#ifndef FGS_GENERIC_HOOK_H
#define FGS_GENERIC_HOOK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "lib/path.h"
#include "generic/gen_maps.h"
#include "generic/task.h"
#include "generic/args.h"

#define GEN_SIGKILL     9
#define GEN_NO_SELECTOR 255 /* the hook has no selectors: everything matches */

#define GEN_PHASE_ENTRY    0 /* decided at entry: actions not waiting for the return value */
#define GEN_PHASE_EXIT     1 /* decided at exit: every action */
#define GEN_PHASE_EXIT_RET 2 /* decided at entry: the actions that wait for the return value */

#define GEN_SEL_MASK 7 /* indexes below 8 for the verifier; GEN_MAX_SELECTORS checked too */

/* &cfg->sel[si] with si bounded on the very register used for the address */
static __always_inline struct gen_selector *gen_sel(struct gen_hook_cfg *cfg, __u32 si)
{
	__u64 i = si;

	gen_barrier_var(i);
	if (i >= GEN_MAX_SELECTORS)
		return NULL;
	return &cfg->sel[i];
}

static __always_inline __u32 gen_pad8(__u32 n)
{
	return (n + 7) & ~7U;
}

static __always_inline __u32 gen_encode_payload(struct gen_arg_cfg *a, struct gen_arg_hdr *h,
						__u8 *dst, __u64 raw, __s64 size)
{
	int user = a->flags & GEN_CF_USER_FIRST;

	switch (a->type) {
	case GEN_T_INT:
	case GEN_T_UINT32:
	case GEN_T_SINT64:
	case GEN_T_UINT64:
	case GEN_T_SIZE:
	case GEN_T_LONG:
	case GEN_T_SYSCALL64:
	case GEN_T_CAPABILITY:
		h->value = gen_int_value(a->type, raw);
		return 0;
	case GEN_T_STRING:
		if (a->flags & GEN_CF_INLINE)
			return gen_read_inline_str(dst, raw, size, h);
		return gen_read_str(dst, raw, user, &h->flags);
	case GEN_T_FILENAME:
		return gen_read_str(dst, (__u64)BPF_CORE_READ((struct filename *)raw, name), 0, &h->flags);
	case GEN_T_CHAR_BUF:
		return gen_read_buf(dst, raw, size, user, h);
	case GEN_T_CHAR_IOVEC:
		return gen_read_iovec(dst, raw, size, 0, user, h);
	case GEN_T_FD:
		return gen_read_fd(dst, raw, h);
	case GEN_T_FILE:
		/* value: the inode's mode, for FileType */
		h->value = raw ? BPF_CORE_READ((struct file *)raw, f_inode, i_mode) : 0;
		return gen_read_file(dst, (struct file *)raw, h);
	case GEN_T_PATH:
		h->value = raw ? BPF_CORE_READ((const struct path *)raw, dentry, d_inode, i_mode) : 0;
		return gen_read_path(dst, (const struct path *)raw, h);
	case GEN_T_SKB:
		return gen_read_skb(dst, (struct sk_buff *)raw, h);
	case GEN_T_SOCK:
		return gen_read_sock(dst, (struct sock *)raw, h);
	case GEN_T_CRED:
		return gen_read_cred(dst, (const struct cred *)raw, h);
	case GEN_T_SOCKADDR:
		return gen_read_sockaddr(dst, raw, user, h);
	case GEN_T_SOCKET:
		return gen_read_sock(dst, BPF_CORE_READ((struct socket *)raw, sk), h);
	case GEN_T_LINUX_BINPRM:
		return gen_read_file(dst, BPF_CORE_READ((struct linux_binprm *)raw, file), h);
	case GEN_T_KIOCB:
		return gen_read_file(dst, BPF_CORE_READ((struct kiocb *)raw, ki_filp), h);
	case GEN_T_NET_DEVICE:
		return gen_read_name(dst, raw ? ((struct net_device *)raw)->name : NULL, 16, h);
	case GEN_T_MODULE:
		return gen_read_module(dst, (struct module *)raw, h);
	case GEN_T_LOAD_INFO:
		return gen_read_load_info(dst, (struct load_info___fgs *)raw, h);
	case GEN_T_PERF_EVENT:
		return gen_read_perf_event(dst, (struct perf_event *)raw, h);
	case GEN_T_DENTRY:
		return gen_read_dentry(dst, (struct dentry *)raw, h);
	case GEN_T_IOV_ITER:
		return gen_read_iov_iter(dst, (struct iov_iter *)raw, h);
	case GEN_T_BPF_ATTR:
		return gen_read_bpf_attr(dst, (union bpf_attr *)raw, h);
	case GEN_T_BPF_MAP:
		return gen_read_bpf_map(dst, (struct bpf_map *)raw, h);
	case GEN_T_USER_NS:
		return gen_read_user_ns(dst, (struct user_namespace *)raw, h);
	default:
		return 0;
	}
}

/* Appends one encoded argument and points arg_off[slot] at it. */
__noinline int gen_encode(struct gen_arg_cfg *a, struct gen_event_buf *ev, __u64 raw, __s64 size, __u32 slot)
{
	struct gen_arg_hdr *h;
	__u32 off, len;

	if (!a || !ev || slot >= GEN_ARG_SLOTS)
		return 0;
	off = ev->rec.data_len;
	if (off >= GEN_DATA_SOFT) {
		ev->rec.flags |= GEN_RF_DATA_FULL;
		return 0;
	}
	off &= GEN_SOFT_MASK;
	h = (struct gen_arg_hdr *)&ev->data[off];
	h->type = a->type;
	h->flags = 0;
	h->pad = 0;
	h->value = 0;
	len = gen_encode_payload(a, h, &ev->data[off + sizeof(*h)], raw, size);
	len = gen_clamp_payload(len);
	h->len = len;
	ev->rec.arg_off[slot & 7] = off;
	ev->rec.data_len = off + sizeof(*h) + gen_pad8(len);
	return 1;
}

/* The encoded argument in a slot, or NULL. */
static __always_inline struct gen_arg_hdr *gen_slot(struct gen_event_buf *ev, __u32 slot)
{
	__u32 off = ev->rec.arg_off[slot & 7];

	if (off == GEN_NO_ARG || off >= GEN_DATA_SOFT)
		return NULL;
	return (struct gen_arg_hdr *)&ev->data[off & GEN_SOFT_MASK];
}

static __always_inline int gen_type_signed(__u8 type)
{
	return type == GEN_T_INT || type == GEN_T_SINT64 || type == GEN_T_LONG;
}

static __always_inline int gen_int_in(struct gen_arg_m *m, __u64 v, int is_signed)
{
	__u32 j;

	for (j = 0; j < GEN_MAX_VALUES; j++) {
		__u64 w = m->values[j];

		if (j >= m->n)
			break;
		switch (m->op) {
		case GEN_OP_EQ:
			if (v == w)
				return 1;
			break;
		case GEN_OP_NEQ:
			if (v == w)
				return 0;
			break;
		case GEN_OP_MASK:
			if (v & w)
				return 1;
			break;
		case GEN_OP_GT:
			return is_signed ? (__s64)v > (__s64)w : v > w;
		case GEN_OP_LT:
			return is_signed ? (__s64)v < (__s64)w : v < w;
		case GEN_OP_FILETYPE:
			if ((v & 0170000) == w)
				return 1;
			break;
		case GEN_OP_NOTFILETYPE:
			if ((v & 0170000) == w)
				return 0;
			break;
		case GEN_OP_INRANGE:
		case GEN_OP_NOTINRANGE: {
			__u64 hi = m->values[(j + 1) & (GEN_MAX_VALUES - 1)];

			if (j & 1)
				break;
			if (is_signed ? ((__s64)v >= (__s64)w && (__s64)v <= (__s64)hi) : (v >= w && v <= hi))
				return m->op == GEN_OP_INRANGE;
			break;
		}
		}
	}
	return m->op == GEN_OP_NEQ || m->op == GEN_OP_NOTINRANGE || m->op == GEN_OP_NOTFILETYPE;
}

__noinline int gen_match_int(struct gen_arg_m *m, struct gen_event_buf *ev)
{
	struct gen_arg_hdr *h;

	if (!m || !ev)
		return 0;
	h = gen_slot(ev, m->arg);
	if (!h)
		return 0;
	return gen_int_in(m, h->value, gen_type_signed(h->type));
}

static __always_inline int gen_text_eq(struct gen_arg_m *m, struct gen_scratch *s, __u8 *payload, __u32 len)
{
	__builtin_memset(s->str.s, 0, sizeof(s->str.s));
	s->str.id = m->id;
	s->str.len = len;
	bpf_probe_read_kernel(s->str.s, len & GEN_STR_MAX, payload);
	return bpf_map_lookup_elem(&gen_str_eq, &s->str) != NULL;
}

static __always_inline int gen_text_prefix(struct gen_arg_m *m, struct gen_scratch *s, __u8 *payload, __u32 len)
{
	__u32 n = len > GEN_STR_MAX ? GEN_STR_MAX : len;

	s->lpm.prefixlen = 8 + 8 * n;
	s->lpm.id = m->id;
	bpf_probe_read_kernel(s->lpm.s, n & GEN_STR_MAX, payload);
	return bpf_map_lookup_elem(&gen_str_prefix, &s->lpm) != NULL;
}

/* Postfix: the last bytes reversed, looked up in a trie of reversed values. */
static __always_inline int gen_text_postfix(struct gen_arg_m *m, struct gen_scratch *s, __u8 *payload, __u32 len)
{
	__u32 n = len > GEN_STR_MAX ? GEN_STR_MAX : len;
	__u32 i;

	bpf_probe_read_kernel(s->tail, n & GEN_STR_MAX, payload + ((len - n) & GEN_PAYLOAD_MASK));
	for (i = 0; i < GEN_STR_MAX; i++) {
		if (i >= n)
			break;
		s->lpm.s[i] = s->tail[(n - 1 - i) & GEN_STR_MAX];
	}
	s->lpm.prefixlen = 8 + 8 * n;
	s->lpm.id = m->id;
	return bpf_map_lookup_elem(&gen_str_postfix, &s->lpm) != NULL;
}

/* Global functions look the scratch up themselves: older verifiers (6.1)
 * refuse map keys and values that point into a global function's arguments. */
__noinline int gen_match_text(struct gen_arg_m *m, struct gen_event_buf *ev)
{
	struct gen_scratch *s = gen_scratch();
	struct gen_arg_hdr *h;
	__u8 *payload;
	__u32 len, whole;

	if (!m || !ev || !s)
		return 0;
	h = gen_slot(ev, m->arg);
	if (!h)
		return 0;
	payload = (__u8 *)(h + 1);
	len = h->len;
	if (len > GEN_PAYLOAD_MAX)
		return 0;
	whole = !(h->flags & (GEN_AF_TRUNCATED | GEN_AF_ERROR));
	switch (m->op) {
	case GEN_OP_EQ:
		return whole && len <= GEN_STR_MAX && gen_text_eq(m, s, payload, len);
	case GEN_OP_NEQ:
		return !(whole && len <= GEN_STR_MAX && gen_text_eq(m, s, payload, len));
	case GEN_OP_PREFIX:
		return gen_text_prefix(m, s, payload, len);
	case GEN_OP_POSTFIX:
		return whole && gen_text_postfix(m, s, payload, len);
	case GEN_OP_NOTPREFIX:
		return !gen_text_prefix(m, s, payload, len);
	case GEN_OP_NOTPOSTFIX:
		return !(whole && gen_text_postfix(m, s, payload, len));
	}
	return 0;
}

static __always_inline int gen_pid_listed(struct gen_pid_m *m, __u32 pid)
{
	__u32 j;

	for (j = 0; j < GEN_MAX_VALUES; j++) {
		if (j >= m->n)
			break;
		if (m->values[j] == pid)
			return 1;
	}
	return 0;
}

/* followForks with isNamespacePID: an ancestor's pid in its own namespace.
 * execve_map knows host pids only, so this walks the kernel's parent links
 * (real_parent: an orphan counts as its reaper's child). */
static __always_inline int gen_nspid_ancestor_listed(struct gen_pid_m *m)
{
	/* BTF pointers, read directly: gen_task_nspid takes one (task.h). */
	struct task_struct *task = bpf_get_current_task_btf()->group_leader;
	struct pid_namespace *ns;
	__u32 d;

	for (d = 0; d < GEN_FOLLOW_DEPTH; d++) {
		struct task_struct *parent = task->real_parent;

		if (!parent)
			break;
		parent = parent->group_leader;
		if (!parent || parent == task || parent->tgid == 0)
			break;
		task = parent;
		if (gen_pid_listed(m, gen_task_nspid(task, &ns)))
			return 1;
	}
	return 0;
}

/* followForks: the process or one of its ancestors (execve_map's parents). */
__noinline int gen_match_pid(struct gen_pid_m *m, struct gen_task *t)
{
	__u32 pid, d;
	int found;

	if (!m || !t)
		return 0;
	pid = (m->flags & GEN_PIDF_NS_PID) ? t->nspid : t->tgid;
	found = gen_pid_listed(m, pid);
	if (!found && (m->flags & GEN_PIDF_FOLLOW_FORKS) && (m->flags & GEN_PIDF_NS_PID))
		found = gen_nspid_ancestor_listed(m);
	if (!found && (m->flags & GEN_PIDF_FOLLOW_FORKS) && !(m->flags & GEN_PIDF_NS_PID)) {
		for (d = 0; d < GEN_FOLLOW_DEPTH; d++) {
			struct fgs_process_state *st = bpf_map_lookup_elem(&execve_map, &pid);

			if (!st || !st->parent_tgid || st->parent_tgid == pid)
				break;
			pid = st->parent_tgid;
			if (gen_pid_listed(m, pid)) {
				found = 1;
				break;
			}
		}
	}
	return m->op == GEN_SET_IN ? found : !found;
}

/* matchBinaries Prefix / Postfix and their Not forms. Global, so the
 * verifier checks the postfix loop once; it looks the scratch up itself. */
__noinline int gen_match_binary_fix(__u32 op, __u32 si, __u32 tgid)
{
	struct gen_arg_m m = { .id = GEN_BIN_TEXT_ID + (si & GEN_SEL_MASK) };
	struct gen_scratch *s = gen_scratch();
	struct fgs_process_state *st;
	long n = 0;
	int found = 0;

	if (!s)
		return 0;
	st = bpf_map_lookup_elem(&execve_map, &tgid);
	if (st)
		n = bpf_probe_read_kernel_str(s->bin.path, sizeof(s->bin.path), st->binary);
	if (n > 1 && (op == GEN_BIN_PREFIX || op == GEN_BIN_NOTPREFIX))
		found = gen_text_prefix(&m, s, (__u8 *)s->bin.path, n - 1);
	else if (n > 1)
		found = gen_text_postfix(&m, s, (__u8 *)s->bin.path, n - 1);
	return (op == GEN_BIN_PREFIX || op == GEN_BIN_POSTFIX) ? found : !found;
}

/* gen_binaries lookups of the process's binary for every selector. */
static __always_inline __u32 gen_bin_lookup(struct gen_hook_cfg *cfg, struct gen_scratch *s,
					    struct fgs_process_state *st)
{
	__u32 found = 0, si;

	__builtin_memset(s->bin.path, 0, sizeof(s->bin.path));
	if (st)
		bpf_probe_read_kernel(s->bin.path, sizeof(s->bin.path), st->binary);
	for (si = 0; si < GEN_MAX_SELECTORS; si++) {
		if (si >= cfg->nsel)
			break;
		/* prefix / postfix forms are matched by gen_match_binary_fix */
		if (!cfg->sel[si].bin_op || cfg->sel[si].bin_op >= GEN_BIN_PREFIX)
			continue;
		s->bin.sel = si;
		if (bpf_map_lookup_elem(&gen_binaries, &s->bin))
			found |= 1U << si;
	}
	return found;
}

/* Bit si: the binary is among selector si's matchBinaries values. Hashing a
 * path costs far more than two lookups by tgid, so the answer is kept per
 * execution (execve_map's ktime and binary_len) in gen_bin_cache. */
static __always_inline __u32 gen_bin_found(struct gen_hook_cfg *cfg, struct gen_scratch *s)
{
	struct gen_bin_memo memo = {}, *c;
	struct fgs_process_state *st;
	__u32 tgid;

	if (s->task.have & GEN_TK_BIN)
		return s->task.bin_found;
	gen_task_need(&s->task, GEN_TK_IDS);
	tgid = s->task.tgid;
	st = bpf_map_lookup_elem(&execve_map, &tgid);
	if (st) {
		memo.ktime = st->ktime;
		memo.binary_len = st->binary_len;
	}
	c = bpf_map_lookup_elem(&gen_bin_cache, &tgid);
	if (c && c->ktime == memo.ktime && c->binary_len == memo.binary_len) {
		memo.found = c->found;
	} else {
		memo.found = gen_bin_lookup(cfg, s, st);
		bpf_map_update_elem(&gen_bin_cache, &tgid, &memo, BPF_ANY);
	}
	s->task.bin_found = memo.found;
	s->task.have |= GEN_TK_BIN;
	return memo.found;
}

__noinline int gen_match_ns(struct gen_ns_m *m, struct gen_task *t)
{
	__u32 j, inum;
	int found = 0;

	if (!m || !t || m->ns >= GEN_NS_COUNT)
		return 0;
	inum = t->ns[m->ns];
	for (j = 0; j < GEN_MAX_VALUES; j++) {
		if (j >= m->n)
			break;
		if (m->values[j] == inum)
			found = 1;
	}
	return m->op == GEN_SET_IN ? found : !found;
}

static __always_inline int gen_match_nschg(struct gen_selector *sel, struct gen_task *t)
{
	int changed = 0;
	__u32 i;

	for (i = 0; i < GEN_NS_COUNT; i++) {
		if ((sel->nschg_mask & (1U << i)) && t->has_state && t->ns[i] != t->exec_ns[i])
			changed = 1;
	}
	return sel->nschg_op == GEN_SET_IN ? changed : !changed;
}

/* matchCapabilities (changes = 0) and matchCapabilityChanges (changes = 1). */
__noinline int gen_match_caps(struct gen_cap_m *m, struct gen_task *t, __u32 host_user_ns, int changes)
{
	__u64 bits;
	__u32 set;

	if (!m || !t || m->set > GEN_CAP_PERMITTED)
		return 0;
	if (!m->ns_cap && t->ns[9] != host_user_ns)
		return 0;
	set = m->set;
	bits = t->caps[set];
	if (changes)
		bits = t->has_state ? bits ^ t->exec_caps[set] : 0;
	bits &= m->mask;
	return m->op == GEN_SET_IN ? bits != 0 : bits == 0;
}

#include "generic/netmatch.h"

static __always_inline int gen_match_arg(struct gen_arg_m *m, struct gen_event_buf *ev)
{
	if (m->kind >= GEN_KIND_SADDR)
		return gen_match_net(m, ev);
	return m->kind == GEN_KIND_TEXT ? gen_match_text(m, ev) : gen_match_int(m, ev);
}

/* The task parts a selector reads beyond the ids (GEN_TK_*). */
static __always_inline __u32 gen_sel_needs(struct gen_selector *sel)
{
	__u32 need = 0, j;

	for (j = 0; j < GEN_MAX_PID_M; j++)
		if (j < sel->npid && (sel->pid[j].flags & GEN_PIDF_NS_PID))
			need |= GEN_TK_NSPID;
	if (sel->nns)
		need |= GEN_TK_NS;
	if (sel->nschg_op)
		need |= GEN_TK_NS | GEN_TK_EXEC;
	if (sel->ncap)
		need |= GEN_TK_CAPS;
	if (sel->ncapchg)
		need |= GEN_TK_CAPS | GEN_TK_EXEC;
	return need;
}

/* An integer argument's value from its raw value, as gen_encode sets
 * gen_arg_hdr.value; 0 when the type needs the encoded argument. */
static __always_inline int gen_raw_int(struct gen_hook_cfg *cfg, struct gen_raw *raw, __u32 k, __u64 *v)
{
	__u8 type;

	if (k >= GEN_MAX_ARGS || k >= cfg->nargs)
		return 0;
	type = cfg->args[k].type;
	switch (type) {
	case GEN_T_INT:
	case GEN_T_UINT32:
	case GEN_T_SINT64:
	case GEN_T_UINT64:
	case GEN_T_SIZE:
	case GEN_T_LONG:
		*v = gen_int_value(type, raw->arg[k]);
		return 1;
	case GEN_T_FD:
		*v = (__u64)(__s64)(__s32)raw->arg[k];
		return 1;
	}
	return 0;
}

static __always_inline void gen_encode_args(struct gen_hook_cfg *cfg, struct gen_pending *p)
{
	__u32 i;

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];
		/* a buffer copied at return is an empty placeholder until then */
		__s64 size = (a->flags & GEN_CF_RETURN_COPY) ? 0 : p->raw.size[i];

		if (i >= cfg->nargs)
			break;
		gen_encode(a, &p->ev, p->raw.arg[i], size, i);
	}
}

/* Encodes the arguments into s->p.ev, once per call. */
__noinline int gen_encode_once(struct gen_hook_cfg *cfg)
{
	struct gen_scratch *s = gen_scratch();

	if (!cfg || !s)
		return 0;
	if (!s->encoded) {
		gen_encode_args(cfg, &s->p);
		s->encoded = 1;
	}
	return 1;
}

/* matchArgs j of sel compared on its raw value: 1 match, 0 no match, -1
 * the matcher needs the encoded argument. */
static __always_inline int gen_match_raw(struct gen_hook_cfg *cfg, struct gen_scratch *s,
					 struct gen_selector *sel, __u32 j)
{
	struct gen_arg_m *m = &sel->arg[j & 7];
	__u32 k = m->arg;
	__u64 v = 0;

	if (m->kind != GEN_KIND_INT || !gen_raw_int(cfg, &s->p.raw, k, &v))
		return -1;
	return gen_int_in(m, v, gen_type_signed(cfg->args[k & 7].type));
}

/* Every field of selector si except matchReturnArgs, cheapest first:
 * integer matchArgs on the raw values, pids, the binary (memoized per
 * execution), namespaces, capabilities, then the matchArgs that need the
 * arguments encoded (strings, paths: read only now, once per call). */
__noinline int gen_match_selector(struct gen_hook_cfg *cfg, __u32 si)
{
	struct gen_scratch *s = gen_scratch();
	struct gen_selector *sel;
	struct gen_task *t;
	__u32 j;

	if (!cfg || !s)
		return 0;
	sel = gen_sel(cfg, si);
	if (!sel)
		return 0;
	t = &s->task;
	for (j = 0; j < GEN_MAX_ARG_M; j++)
		if (j < sel->narg && gen_match_raw(cfg, s, sel, j) == 0)
			return 0;
	if (sel->npid)
		gen_task_need(t, GEN_TK_IDS | (gen_sel_needs(sel) & GEN_TK_NSPID));
	for (j = 0; j < GEN_MAX_PID_M; j++)
		if (j < sel->npid && !gen_match_pid(&sel->pid[j], t))
			return 0;
	if (sel->bin_op >= GEN_BIN_PREFIX) {
		gen_task_need(t, GEN_TK_IDS);
		if (!gen_match_binary_fix(sel->bin_op, si, t->tgid))
			return 0;
	} else if (sel->bin_op) {
		int found = (gen_bin_found(cfg, s) >> (si & GEN_SEL_MASK)) & 1;

		if (found != (sel->bin_op == GEN_SET_IN))
			return 0;
	}
	gen_task_need(t, gen_sel_needs(sel));
	for (j = 0; j < GEN_MAX_NS_M; j++)
		if (j < sel->nns && !gen_match_ns(&sel->ns[j], t))
			return 0;
	if (sel->nschg_op && !gen_match_nschg(sel, t))
		return 0;
	for (j = 0; j < GEN_MAX_CAP_M; j++) {
		if (j < sel->ncap && !gen_match_caps(&sel->cap[j], t, cfg->host_user_ns, 0))
			return 0;
		if (j < sel->ncapchg && !gen_match_caps(&sel->capchg[j], t, cfg->host_user_ns, 1))
			return 0;
	}
	for (j = 0; j < GEN_MAX_ARG_M; j++) {
		if (j >= sel->narg)
			break;
		if (gen_match_raw(cfg, s, sel, j) >= 0)
			continue;
		gen_encode_once(cfg);
		if (!gen_match_arg(&sel->arg[j], &s->p.ev))
			return 0;
	}
	return 1;
}

__noinline int gen_match_return(struct gen_hook_cfg *cfg, struct gen_event_buf *ev, __u32 si)
{
	struct gen_selector *sel;
	__u32 j;

	if (!cfg || !ev)
		return 0;
	sel = gen_sel(cfg, si);
	if (!sel)
		return 0;
	for (j = 0; j < GEN_MAX_RET_M; j++)
		if (j < sel->nret && !gen_match_arg(&sel->ret[j], ev))
			return 0;
	return 1;
}

/* Ranks actions for gen_record.action: the strongest one taken is reported. */
static __always_inline __u8 gen_action_rank(__u8 a)
{
	switch (a) {
	case GEN_ACT_SIGKILL:
	case GEN_ACT_SIGNAL:
	case GEN_ACT_NOTIFY_ENFORCER:
		return 4;
	case GEN_ACT_OVERRIDE:
		return 3;
	case GEN_ACT_FOLLOWFD:
	case GEN_ACT_UNFOLLOWFD:
	case GEN_ACT_COPYFD:
		return 2;
	case GEN_ACT_POST:
		return 1;
	}
	return 0;
}

static __always_inline void gen_note_action(struct gen_event_buf *ev, __u8 a)
{
	if (gen_action_rank(a) > gen_action_rank(ev->rec.action))
		ev->rec.action = a;
}

static __always_inline __u64 gen_raw_at(struct gen_raw *raw, __u8 pos)
{
	return pos < GEN_MAX_ARGS ? raw->arg[pos] : 0;
}

static __always_inline void gen_follow_fd(struct gen_action_cfg *act, struct gen_event_buf *ev,
					  struct gen_raw *raw, struct gen_scratch *s)
{
	struct gen_fd_key key = { .tgid = ev->rec.tgid };
	struct gen_arg_hdr *h = gen_slot(ev, act->arg_name);
	__u32 n;

	key.fd = (act->flags & GEN_ACTF_FROM_RETURN) ? (__u32)ev->rec.ret : (__u32)gen_raw_at(raw, act->arg_fd);
	if (!h || (h->flags & GEN_AF_ERROR))
		return;
	n = h->len > GEN_FD_NAME_MAX - 1 ? GEN_FD_NAME_MAX - 1 : h->len;
	s->fdname.len = n;
	s->fdname.flags = n < h->len ? GEN_AF_TRUNCATED : (h->flags & GEN_AF_TRUNCATED);
	bpf_probe_read_kernel(s->fdname.name, n & (GEN_FD_NAME_MAX - 1), h + 1);
	bpf_map_update_elem(&gen_fd_names, &key, &s->fdname, BPF_ANY);
}

static __always_inline void gen_copy_fd(struct gen_action_cfg *act, struct gen_event_buf *ev, struct gen_raw *raw)
{
	struct gen_fd_key from = { .tgid = ev->rec.tgid, .fd = (__u32)gen_raw_at(raw, act->arg_fd) };
	struct gen_fd_key to = { .tgid = ev->rec.tgid };
	struct gen_fd_name *name;

	to.fd = (act->flags & GEN_ACTF_FROM_RETURN) ? (__u32)ev->rec.ret : (__u32)gen_raw_at(raw, act->arg_name);
	name = bpf_map_lookup_elem(&gen_fd_names, &from);
	if (name)
		bpf_map_update_elem(&gen_fd_names, &to, name, BPF_ANY);
}

/* Runs one action if it belongs to this phase; returns an Override errno. */
static __always_inline long gen_act(struct gen_action_cfg *act, struct gen_event_buf *ev,
				    struct gen_raw *raw, struct gen_scratch *s, __u32 phase)
{
	int late = act->flags & GEN_ACTF_FROM_RETURN;

	if ((phase == GEN_PHASE_ENTRY && late) || (phase == GEN_PHASE_EXIT_RET && !late))
		return 0;
	if (late && ev->rec.ret < 0) /* the call failed: there is no new fd */
		return 0;
	gen_note_action(ev, act->action);
	switch (act->action) {
	case GEN_ACT_SIGKILL:
		bpf_send_signal(GEN_SIGKILL);
		return 0;
	case GEN_ACT_SIGNAL:
	case GEN_ACT_NOTIFY_ENFORCER:
		bpf_send_signal((__u32)act->err);
		return 0;
	case GEN_ACT_OVERRIDE:
		return act->err;
	case GEN_ACT_FOLLOWFD:
		gen_follow_fd(act, ev, raw, s);
		return 0;
	case GEN_ACT_UNFOLLOWFD: {
		struct gen_fd_key key = { .tgid = ev->rec.tgid, .fd = (__u32)gen_raw_at(raw, act->arg_fd) };

		bpf_map_delete_elem(&gen_fd_names, &key);
		return 0;
	}
	case GEN_ACT_COPYFD:
		gen_copy_fd(act, ev, raw);
		return 0;
	}
	return 0;
}

__noinline long gen_do_actions(struct gen_hook_cfg *cfg, struct gen_event_buf *ev, struct gen_raw *raw, __u32 si_phase)
{
	__u32 si = si_phase & 0xff, phase = si_phase >> 8, j;
	struct gen_scratch *s = gen_scratch();
	struct gen_selector *sel;
	long err = 0, e;

	if (!cfg || !ev || !raw || !s)
		return 0;
	sel = si == GEN_NO_SELECTOR ? NULL : gen_sel(cfg, si);
	if (!sel) {
		gen_note_action(ev, GEN_ACT_POST);
		return 0;
	}
	for (j = 0; j < GEN_MAX_ACTIONS; j++) {
		if (j >= sel->nact)
			break;
		e = gen_act(&sel->act[j], ev, raw, s, phase);
		if (e)
			err = e;
	}
	return err;
}

static __always_inline void gen_emit(struct gen_event_buf *ev)
{
	__u64 size = sizeof(struct gen_record) + ev->rec.data_len;

	gen_barrier_var(size);
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	ev->rec.hdr.size = size;
	fgs_output(ev, size, ev->rec.hdr.op);
}

/* The record fields encoding uses; the rest is filled once a selector matched. */
static __always_inline void gen_record_reset(struct gen_event_buf *ev)
{
	__u32 i;

	ev->rec.flags = 0;
	ev->rec.data_len = 0;
	for (i = 0; i < 8; i++)
		ev->rec.arg_off[i] = GEN_NO_ARG;
}

static __always_inline void gen_record_fill(struct gen_hook_cfg *cfg, struct gen_scratch *s)
{
	struct gen_event_buf *ev = &s->p.ev;

	ev->rec.hdr.op = (cfg->flags & GEN_HF_TRACEPOINT) ? FGS_OP_TRACEPOINT : FGS_OP_KPROBE;
	ev->rec.hdr.size = 0;
	ev->rec.hdr.ktime = bpf_ktime_get_boot_ns();
	gen_task_need(&s->task, GEN_TK_IDS);
	ev->rec.tgid = s->task.tgid;
	ev->rec.tid = s->task.pid;
	ev->rec.hook_id = cfg->hook_id;
	ev->rec.action = GEN_ACT_NONE;
	ev->rec.nargs = cfg->nargs;
	ev->rec.selector = 0;
	ev->rec.pad = 0;
	ev->rec.ret = 0;
}

/* Evaluates selectors at entry: p->decided is the first selector fully
 * matched, p->mask those that still wait for matchReturnArgs. */
static __always_inline void gen_select_entry(struct gen_hook_cfg *cfg, struct gen_scratch *s)
{
	struct gen_pending *p = &s->p;
	__u32 si;

	p->decided = -1;
	p->mask = 0;
	if (cfg->nsel == 0) {
		p->decided = GEN_NO_SELECTOR;
		return;
	}
	for (si = 0; si < GEN_MAX_SELECTORS; si++) {
		if (si >= cfg->nsel)
			break;
		if (!gen_match_selector(cfg, si))
			continue;
		if (cfg->sel[si].nret == 0) {
			p->decided = si;
			return;
		}
		p->mask |= 1U << si;
	}
}

/* Entry of a hooked call, with s->p.raw filled by the program after
 * gen_task_begin. Returns the errno an Override action asks for (kprobe
 * programs apply it), else 0. */
static __always_inline long gen_entry(struct gen_hook_cfg *cfg, struct gen_scratch *s)
{
	struct gen_pending *p = &s->p;
	long err = 0;
	__u64 key;

	gen_record_reset(&p->ev);
	s->encoded = 0;
	gen_select_entry(cfg, s);
	if (p->decided < 0 && !p->mask)
		return 0;
	gen_encode_once(cfg);
	gen_record_fill(cfg, s);
	if (p->decided >= 0) {
		p->ev.rec.selector = p->decided == GEN_NO_SELECTOR ? 0 : p->decided + 1;
		err = gen_do_actions(cfg, &p->ev, &p->raw, (GEN_PHASE_ENTRY << 8) | p->decided);
	}
	if (err) { /* overridden: the call does not run, its return value is err */
		p->ev.rec.ret = err;
		p->ev.rec.flags |= GEN_RF_RETURN;
		gen_encode(&cfg->ret, &p->ev, err, 0, GEN_RET_SLOT);
		gen_emit(&p->ev);
		return err;
	}
	if (cfg->flags & GEN_HF_EXIT) {
		key = bpf_get_current_pid_tgid();
		bpf_map_update_elem(&gen_pending_map, &key, p, BPF_ANY);
	} else {
		gen_emit(&p->ev);
	}
	return 0;
}

static __always_inline void gen_return_copies(struct gen_hook_cfg *cfg, struct gen_pending *p, __s64 ret)
{
	__u32 i;

	for (i = 0; i < GEN_MAX_ARGS; i++) {
		struct gen_arg_cfg *a = &cfg->args[i];
		__s64 size = ret < 0 ? 0 : ret;

		if (i >= cfg->nargs)
			break;
		if (!(a->flags & GEN_CF_RETURN_COPY))
			continue;
		if (a->size_slot && (__s64)p->raw.size[i] < size)
			size = p->raw.size[i];
		gen_encode(a, &p->ev, p->raw.arg[i], size, i);
	}
}

static __always_inline int gen_select_exit(struct gen_hook_cfg *cfg, struct gen_pending *p)
{
	__u32 si;

	for (si = 0; si < GEN_MAX_SELECTORS; si++) {
		if (!(p->mask & (1U << si)))
			continue;
		if (gen_match_return(cfg, &p->ev, si))
			return si;
	}
	return -1;
}

/* Exit of a hooked call: completes the record kept since entry. */
static __always_inline void gen_exit(struct gen_hook_cfg *cfg, __s64 ret)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct gen_pending *p = bpf_map_lookup_elem(&gen_pending_map, &key);
	__u32 phase = GEN_PHASE_EXIT_RET;
	int si;

	if (!p)
		return;
	p->ev.rec.ret = ret;
	if (cfg->flags & GEN_HF_HAS_RET) {
		p->ev.rec.flags |= GEN_RF_RETURN;
		gen_encode(&cfg->ret, &p->ev, ret, 0, GEN_RET_SLOT);
	}
	gen_return_copies(cfg, p, ret);
	si = p->decided;
	if (si < 0) {
		si = gen_select_exit(cfg, p);
		if (si < 0) {
			bpf_map_delete_elem(&gen_pending_map, &key);
			return;
		}
		p->ev.rec.selector = si + 1;
		phase = GEN_PHASE_EXIT;
	}
	gen_do_actions(cfg, &p->ev, &p->raw, (phase << 8) | (si & 0xff));
	gen_emit(&p->ev);
	bpf_map_delete_elem(&gen_pending_map, &key);
}

#endif
