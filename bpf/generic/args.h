/* Encoding of one argument into the record: a gen_arg_hdr, then its payload.
 * Every payload write is at most GEN_PAYLOAD_MAX bytes at an offset below
 * GEN_DATA_SOFT, inside a buffer sized for both (struct gen_event_buf). */
#ifndef FGS_GENERIC_ARGS_H
#define FGS_GENERIC_ARGS_H

#define GEN_PAYLOAD_MASK (GEN_PAYLOAD_MAX - 1)
#define GEN_SOFT_MASK    (GEN_DATA_SOFT - 1)
#define GEN_IOVEC_MAX    8
#define GEN_AF_INET      2
#define GEN_AF_INET6     10

#define gen_barrier_var(x) asm volatile("" : "+r"(x))

/* n capped at GEN_PAYLOAD_MAX, bounded on the very 64-bit register the
 * caller hands to a helper (a 32-bit copy would lose the bound). */
static __always_inline __u64 gen_clamp_payload(__u64 n)
{
	__u64 v = n;

	if (v > GEN_PAYLOAD_MAX)
		v = GEN_PAYLOAD_MAX;
	gen_barrier_var(v);
	if (v > GEN_PAYLOAD_MAX)
		v = GEN_PAYLOAD_MAX;
	return v;
}

/* A string from user or kernel memory; returns its length without the NUL. */
static __always_inline long gen_read_str(__u8 *dst, __u64 ptr, int user_first, __u8 *flags)
{
	long n;

	if (user_first) {
		n = bpf_probe_read_user_str(dst, GEN_PAYLOAD_MAX, (void *)ptr);
		if (n < 0)
			n = bpf_probe_read_kernel_str(dst, GEN_PAYLOAD_MAX, (void *)ptr);
	} else {
		n = bpf_probe_read_kernel_str(dst, GEN_PAYLOAD_MAX, (void *)ptr);
		if (n < 0)
			n = bpf_probe_read_user_str(dst, GEN_PAYLOAD_MAX, (void *)ptr);
	}
	if (n <= 0) {
		*flags |= GEN_AF_ERROR;
		return 0;
	}
	if (n == GEN_PAYLOAD_MAX)
		*flags |= GEN_AF_TRUNCATED;
	return n - 1;
}

/* A char array inside a tracepoint record: at most size bytes, up to a NUL. */
static __always_inline long gen_read_inline_str(__u8 *dst, __u64 ptr, __s64 size, struct gen_arg_hdr *h)
{
	__u64 n = gen_clamp_payload(size < 0 ? 0 : size);
	long rc;

	if (n == 0)
		return 0;
	rc = bpf_probe_read_kernel_str(dst, n, (void *)ptr);
	if (rc <= 0) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	return rc - 1;
}

static __always_inline long gen_read_mem(__u8 *dst, __u64 n, __u64 ptr, int user_first)
{
	long rc;

	if (user_first) {
		rc = bpf_probe_read_user(dst, n, (void *)ptr);
		if (rc < 0)
			rc = bpf_probe_read_kernel(dst, n, (void *)ptr);
	} else {
		rc = bpf_probe_read_kernel(dst, n, (void *)ptr);
		if (rc < 0)
			rc = bpf_probe_read_user(dst, n, (void *)ptr);
	}
	return rc;
}

/* A buffer of size bytes; value becomes the original size. */
static __always_inline __u32 gen_read_buf(__u8 *dst, __u64 ptr, __s64 size, int user_first,
					  struct gen_arg_hdr *h)
{
	__u64 n;

	if (size < 0)
		size = 0;
	h->value = size;
	n = gen_clamp_payload(size);
	if (n < size)
		h->flags |= GEN_AF_TRUNCATED;
	if (n && gen_read_mem(dst, n, ptr, user_first) < 0) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	return n;
}

struct gen_iovec {
	__u64 base;
	__u64 len;
};

/* The iovecs' bytes back to back, at most GEN_IOVEC_MAX of them, the first
 * skip bytes of the first one left out (an iov_iter's position). */
static __always_inline __u32 gen_read_iovec(__u8 *dst, __u64 iov, __u64 cnt, __u64 skip, int user_first,
					    struct gen_arg_hdr *h)
{
	__u32 copied = 0, i;
	__u64 total = 0;

	for (i = 0; i < GEN_IOVEC_MAX; i++) {
		struct gen_iovec v = {};
		__u64 room, n;

		if (i >= cnt)
			break;
		if (gen_read_mem((__u8 *)&v, sizeof(v), iov + i * sizeof(v), user_first) < 0) {
			h->flags |= GEN_AF_ERROR;
			break;
		}
		if (i == 0) {
			v.len = v.len > skip ? v.len - skip : 0;
			v.base += skip;
		}
		total += v.len;
		room = GEN_PAYLOAD_MAX - copied;
		n = gen_clamp_payload(v.len < room ? v.len : room);
		if (n && gen_read_mem(dst + (copied & GEN_PAYLOAD_MASK), n, v.base, user_first) < 0) {
			h->flags |= GEN_AF_ERROR;
			break;
		}
		copied += n;
		if (copied >= GEN_PAYLOAD_MAX)
			break;
	}
	if (cnt > GEN_IOVEC_MAX || total > copied)
		h->flags |= GEN_AF_TRUNCATED;
	h->value = total;
	return copied > GEN_PAYLOAD_MAX ? GEN_PAYLOAD_MAX : copied;
}

/* Copies a walked path (lib/path.h) into the payload. */
static __always_inline __u32 gen_copy_path(__u8 *dst, struct fgs_path_res *res, struct gen_arg_hdr *h)
{
	__u64 len = res->len;

	if (res->flags & FGS_PATH_ERROR) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	if (res->flags & FGS_PATH_TRUNCATED)
		h->flags |= GEN_AF_TRUNCATED;
	if (res->flags & FGS_PATH_UNLINKED)
		h->flags |= GEN_AF_UNLINKED;
	len = gen_clamp_payload(len);
	bpf_probe_read_kernel(dst, len, &res->buf->data[res->start & FGS_PATH_MASK]);
	return len;
}

static __always_inline __u32 gen_read_path(__u8 *dst, const struct path *p, struct gen_arg_hdr *h)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fgs_path_res res = fgs_path_walk(BPF_CORE_READ(p, mnt), BPF_CORE_READ(p, dentry), task);

	return gen_copy_path(dst, &res, h);
}

static __always_inline __u32 gen_read_file(__u8 *dst, struct file *f, struct gen_arg_hdr *h)
{
	if (!f) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	return gen_read_path(dst, &f->f_path, h);
}

static __always_inline struct file *gen_fd_file(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* An fd: its name as FollowFD recorded it, else the task's open file. */
static __always_inline __u32 gen_read_fd(__u8 *dst, __u64 raw, struct gen_arg_hdr *h)
{
	struct gen_fd_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (__u32)raw };
	struct gen_fd_name *name = bpf_map_lookup_elem(&gen_fd_names, &key);
	struct file *f;
	__u64 n;

	h->value = (__s64)(__s32)raw;
	if (name) {
		n = name->len & (GEN_FD_NAME_MAX - 1);
		h->flags |= GEN_AF_FD_FOLLOW | (name->flags & GEN_AF_TRUNCATED);
		bpf_probe_read_kernel(dst, n, name->name);
		return n;
	}
	if ((__s32)raw < 0)
		return 0;
	f = gen_fd_file((__u32)raw);
	if (!f)
		return 0;
	h->flags |= GEN_AF_FD_TABLE;
	return gen_read_file(dst, f, h);
}

static __always_inline __u32 gen_read_cred(__u8 *dst, const struct cred *cred, struct gen_arg_hdr *h)
{
	struct gen_cred *c = (struct gen_cred *)dst;
	__u64 caps[3] = {};

	if (!cred) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	gen_read_cred_caps(caps, cred);
	c->effective = caps[GEN_CAP_EFFECTIVE];
	c->inheritable = caps[GEN_CAP_INHERITABLE];
	c->permitted = caps[GEN_CAP_PERMITTED];
	return sizeof(*c);
}

static __always_inline __u32 gen_read_sock(__u8 *dst, struct sock *sk, struct gen_arg_hdr *h)
{
	struct gen_sock *s = (struct gen_sock *)dst;

	__builtin_memset(s, 0, sizeof(*s));
	if (!sk) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	s->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	s->type = BPF_CORE_READ(sk, sk_type);
	s->protocol = BPF_CORE_READ(sk, sk_protocol);
	s->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	s->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	s->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	s->mark = BPF_CORE_READ(sk, sk_mark);
	s->priority = BPF_CORE_READ(sk, sk_priority);
	if (s->family == GEN_AF_INET) {
		bpf_core_read(s->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(s->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (s->family == GEN_AF_INET6) {
		bpf_core_read(s->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(s->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	return sizeof(*s);
}

static __always_inline void gen_skb_ports(struct gen_skb *s, unsigned char *head, __u16 th)
{
	__u16 ports[2] = {};

	if (th == (__u16)~0U || (s->proto != 6 && s->proto != 17 && s->proto != 132))
		return;
	bpf_probe_read_kernel(ports, sizeof(ports), head + th);
	s->sport = bpf_ntohs(ports[0]);
	s->dport = bpf_ntohs(ports[1]);
}

static __always_inline __u32 gen_read_skb(__u8 *dst, struct sk_buff *skb, struct gen_arg_hdr *h)
{
	struct gen_skb *s = (struct gen_skb *)dst;
	unsigned char *head;
	__u16 nh, proto;
	__u8 ver = 0;

	__builtin_memset(s, 0, sizeof(*s));
	if (!skb) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	s->hash = BPF_CORE_READ(skb, hash);
	s->len = BPF_CORE_READ(skb, len);
	s->priority = BPF_CORE_READ(skb, priority);
	s->mark = BPF_CORE_READ(skb, mark);
	head = BPF_CORE_READ(skb, head);
	nh = BPF_CORE_READ(skb, network_header);
	proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	bpf_probe_read_kernel(&ver, 1, head + nh);
	if (proto == 0x0800 || (proto == 0 && (ver >> 4) == 4)) {
		struct iphdr ip = {};

		bpf_probe_read_kernel(&ip, sizeof(ip), head + nh);
		s->family = GEN_AF_INET;
		s->proto = ip.protocol;
		__builtin_memcpy(s->saddr, &ip.saddr, 4);
		__builtin_memcpy(s->daddr, &ip.daddr, 4);
	} else if (proto == 0x86DD || (proto == 0 && (ver >> 4) == 6)) {
		struct ipv6hdr ip6 = {};

		bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh);
		s->family = GEN_AF_INET6;
		s->proto = ip6.nexthdr;
		bpf_probe_read_kernel(s->saddr, 16, &ip6.saddr);
		bpf_probe_read_kernel(s->daddr, 16, &ip6.daddr);
	}
	gen_skb_ports(s, head, BPF_CORE_READ(skb, transport_header));
	return sizeof(*s);
}

/* A struct sockaddr from user (syscall arguments) or kernel memory. */
static __always_inline __u32 gen_read_sockaddr(__u8 *dst, __u64 ptr, int user_first, struct gen_arg_hdr *h)
{
	struct gen_sockaddr *s = (struct gen_sockaddr *)dst;
	struct sockaddr_in6 in6 = {};

	__builtin_memset(s, 0, sizeof(*s));
	if (!ptr || gen_read_mem((__u8 *)&in6, sizeof(__u16), ptr, user_first) < 0) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	s->family = in6.sin6_family;
	if (s->family == GEN_AF_INET) {
		struct sockaddr_in in = {};

		if (gen_read_mem((__u8 *)&in, sizeof(in), ptr, user_first) < 0) {
			h->flags |= GEN_AF_ERROR;
			return sizeof(*s);
		}
		s->port = bpf_ntohs(in.sin_port);
		__builtin_memcpy(s->addr, &in.sin_addr, 4);
	} else if (s->family == GEN_AF_INET6) {
		if (gen_read_mem((__u8 *)&in6, sizeof(in6), ptr, user_first) < 0) {
			h->flags |= GEN_AF_ERROR;
			return sizeof(*s);
		}
		s->port = bpf_ntohs(in6.sin6_port);
		__builtin_memcpy(s->addr, &in6.sin6_addr, 16);
	}
	return sizeof(*s);
}

static __always_inline __u32 gen_read_bpf_attr(__u8 *dst, union bpf_attr *attr, struct gen_arg_hdr *h)
{
	struct gen_bpf_attr *a = (struct gen_bpf_attr *)dst;

	__builtin_memset(a, 0, sizeof(*a));
	if (!attr) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	a->prog_type = BPF_CORE_READ(attr, prog_type);
	a->insn_cnt = BPF_CORE_READ(attr, insn_cnt);
	bpf_core_read(a->prog_name, sizeof(a->prog_name), &attr->prog_name);
	return sizeof(*a);
}

static __always_inline __u32 gen_read_bpf_map(__u8 *dst, struct bpf_map *map, struct gen_arg_hdr *h)
{
	struct gen_bpf_map *m = (struct gen_bpf_map *)dst;

	__builtin_memset(m, 0, sizeof(*m));
	if (!map) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	m->map_type = BPF_CORE_READ(map, map_type);
	m->key_size = BPF_CORE_READ(map, key_size);
	m->value_size = BPF_CORE_READ(map, value_size);
	m->max_entries = BPF_CORE_READ(map, max_entries);
	bpf_core_read(m->name, sizeof(m->name), &map->name);
	return sizeof(*m);
}

static __always_inline __u32 gen_read_user_ns(__u8 *dst, struct user_namespace *ns, struct gen_arg_hdr *h)
{
	struct gen_user_ns *u = (struct gen_user_ns *)dst;

	__builtin_memset(u, 0, sizeof(*u));
	if (!ns) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	u->level = BPF_CORE_READ(ns, level);
	u->uid = BPF_CORE_READ(ns, owner.val);
	u->gid = BPF_CORE_READ(ns, group.val);
	u->inum = BPF_CORE_READ(ns, ns.inum);
	return sizeof(*u);
}

/* A fixed-size name inside a kernel struct (net_device, module). */
static __always_inline __u32 gen_read_name(__u8 *dst, const void *name, __u32 max, struct gen_arg_hdr *h)
{
	long n;

	if (!name) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	n = bpf_probe_read_kernel_str(dst, max & 127, name);
	if (n <= 0) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	return n - 1;
}

/* struct iov_iter named its iovec array iov before 6.4 (__iov since). */
struct iov_iter___old {
	const struct iovec *iov;
} __attribute__((preserve_access_index));

/* The bytes an iov_iter covers (from its position, at most its count):
 * a user buffer (ITER_UBUF), user iovecs (ITER_IOVEC) or kernel ones
 * (ITER_KVEC); value is the count. Page-based kinds (bvec, folios, xarray,
 * pipe) carry no bytes here: the payload is empty and marked truncated. */
static __always_inline __u32 gen_read_iov_iter(__u8 *dst, struct iov_iter *it, struct gen_arg_hdr *h)
{
	__u64 count, skip, segs, nr;
	__u32 n;
	__u8 kind;
	int user = 1;

	if (!it || !bpf_core_field_exists(it->iter_type)) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	kind = BPF_CORE_READ(it, iter_type);
	count = BPF_CORE_READ(it, count);
	skip = BPF_CORE_READ(it, iov_offset);
	if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	    kind == bpf_core_enum_value(enum iter_type, ITER_UBUF))
		return gen_read_buf(dst, (__u64)BPF_CORE_READ(it, ubuf) + skip, count, 1, h);
	if (kind == bpf_core_enum_value(enum iter_type, ITER_IOVEC)) {
		if (bpf_core_field_exists(((struct iov_iter___old *)it)->iov))
			segs = (__u64)BPF_CORE_READ((struct iov_iter___old *)it, iov);
		else
			segs = (__u64)BPF_CORE_READ(it, __iov);
	} else if (kind == bpf_core_enum_value(enum iter_type, ITER_KVEC)) {
		segs = (__u64)BPF_CORE_READ(it, kvec);
		user = 0;
	} else {
		h->value = count;
		if (count)
			h->flags |= GEN_AF_TRUNCATED;
		return 0;
	}
	nr = BPF_CORE_READ(it, nr_segs);
	n = gen_read_iovec(dst, segs, nr, skip, user, h);
	if (n > count)
		n = count;
	if (count > n)
		h->flags |= GEN_AF_TRUNCATED;
	else
		h->flags &= ~GEN_AF_TRUNCATED;
	h->value = count;
	return n;
}

/* struct load_info lives in kernel/module/internal.h: in the BTF of kernels
 * built with modules, absent otherwise (the program then reports an error). */
struct load_info___fgs {
	const char *name;
	struct module *mod;
	bool sig_ok;
} __attribute__((preserve_access_index));

/* The module being loaded: name; value its taint bits; flags the signature. */
static __always_inline __u32 gen_read_load_info(__u8 *dst, struct load_info___fgs *info, struct gen_arg_hdr *h)
{
	struct module *mod;

	if (!bpf_core_type_exists(struct load_info___fgs) || !info) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	mod = BPF_CORE_READ(info, mod);
	if (mod)
		h->value = BPF_CORE_READ(mod, taints);
	if (bpf_core_field_exists(info->sig_ok)) {
		h->flags |= GEN_AF_SIG_KNOWN;
		if (BPF_CORE_READ(info, sig_ok))
			h->flags |= GEN_AF_SIG_OK;
	}
	return gen_read_name(dst, BPF_CORE_READ(info, name), GEN_MODULE_NAME, h);
}

/* A struct module: name; value its taint bits. */
static __always_inline __u32 gen_read_module(__u8 *dst, struct module *mod, struct gen_arg_hdr *h)
{
	if (!mod) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	h->value = BPF_CORE_READ(mod, taints);
	return gen_read_name(dst, mod->name, GEN_MODULE_NAME, h);
}

/* The probe a perf event was opened for. kprobe_func is the opener's pointer
 * (user memory in perf_event_open), kernel memory for in-kernel users. */
static __always_inline __u32 gen_read_perf_event(__u8 *dst, struct perf_event *ev, struct gen_arg_hdr *h)
{
	struct gen_perf_event *p = (struct gen_perf_event *)dst;
	__u64 func;

	__builtin_memset(p, 0, sizeof(*p));
	if (!ev) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	p->type = BPF_CORE_READ(ev, attr.type);
	p->config = BPF_CORE_READ(ev, attr.config);
	p->probe_offset = BPF_CORE_READ(ev, attr.probe_offset);
	func = BPF_CORE_READ(ev, attr.kprobe_func);
	if (func && bpf_probe_read_user_str(p->kprobe_func, sizeof(p->kprobe_func), (void *)func) < 0)
		bpf_probe_read_kernel_str(p->kprobe_func, sizeof(p->kprobe_func), (void *)func);
	return sizeof(*p);
}

/* A dentry: its path from its filesystem's root (a dentry has no mount). */
static __always_inline __u32 gen_read_dentry(__u8 *dst, struct dentry *d, struct gen_arg_hdr *h)
{
	struct fgs_path_res res;

	if (!d) {
		h->flags |= GEN_AF_ERROR;
		return 0;
	}
	h->value = BPF_CORE_READ(d, d_inode, i_mode);
	res = fgs_dentry_path(d);
	return gen_copy_path(dst, &res, h);
}

/* Integers: sign or zero extension from the field's width. */
static __always_inline __u64 gen_int_value(__u8 type, __u64 raw)
{
	switch (type) {
	case GEN_T_INT:
	case GEN_T_CAPABILITY:
		return (__u64)(__s64)(__s32)raw;
	case GEN_T_UINT32:
		return (__u32)raw;
	default:
		return raw;
	}
}

#endif
