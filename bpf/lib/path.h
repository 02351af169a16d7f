/* Full paths computed in the kernel: a struct path walked up its dentries
 * and mounts (as d_path does), and a kernfs node walked up to its root (for
 * cgroup paths). Both build the path backwards, ending at FGS_PATH_MAX in a
 * per-CPU buffer twice that size, so every write is provably in bounds.
 *
 * Needs vmlinux.h, bpf_helpers.h and bpf_core_read.h included first, and
 * FGS_PATH_MAX (a power of two) from process.h. */
#ifndef FGS_LIB_PATH_H
#define FGS_LIB_PATH_H

#define FGS_PATH_MASK (FGS_PATH_MAX - 1)

/* Makes the compiler forget what it knows of x, so that a bounds check on x
 * that follows is done on the very register later handed to a helper
 * (otherwise clang checks a 32-bit copy and the verifier sees no bound). */
#define fgs_barrier_var(x) asm volatile("" : "+r"(x))
#define FGS_PATH_MAX_DEPTH 2048  /* components: ">= FGS_PATH_MAX / 2" */
#define FGS_KERNFS_MAX_DEPTH 64
#define FGS_NAME_MAX 256

/* Result flags */
#define FGS_PATH_TRUNCATED   (1U << 0)
#define FGS_PATH_UNREACHABLE (1U << 1) /* disconnected dentry: partial path */
#define FGS_PATH_UNLINKED    (1U << 2) /* the final dentry was deleted */
#define FGS_PATH_ERROR       (1U << 3)

struct fgs_path_buf {
	/* [0, FGS_PATH_MAX): the path, ending at FGS_PATH_MAX;
	 * [FGS_PATH_MAX, +FGS_NAME_MAX): staging for one kernfs name. */
	char data[FGS_PATH_MAX * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fgs_path_buf);
} fgs_path_scratch SEC(".maps");

/* A path found in the per-CPU buffer: data[start, FGS_PATH_MAX). */
struct fgs_path_res {
	struct fgs_path_buf *buf;
	__u32 start;
	__u32 len;
	__u32 flags;
};

struct fgs_dentry_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 off;
	__u32 flags;
	__u32 done;
};

static __always_inline struct fgs_path_buf *fgs_path_buffer(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fgs_path_scratch, &zero);
}

static __always_inline struct mount *fgs_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* Prepends "/" + name[0, len) (kernel memory) before *off. */
static __always_inline int fgs_prepend_name(struct fgs_path_buf *b, __u32 *off,
					    const void *name, __u32 len)
{
	if (len + 1 > *off)
		return -1;
	*off -= len;
	/* The masks only restate bounds already checked, for the verifier. */
	bpf_probe_read_kernel(&b->data[*off & FGS_PATH_MASK], len & FGS_PATH_MASK, name);
	*off -= 1;
	b->data[*off & FGS_PATH_MASK] = '/';
	return 0;
}

static long fgs_dentry_step(__u32 i, void *ctx)
{
	struct fgs_dentry_walk *c = ctx;
	/* Locals, not c->x inside BPF_CORE_READ: that would relocate c too. */
	struct dentry *d = c->dentry;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt;
	struct dentry *parent, *mnt_root;
	struct fgs_path_buf *b;
	const unsigned char *name;
	__u32 len;

	if (d == c->root_dentry && vfsmnt == c->root_mnt) {
		c->done = 1;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	if (d == mnt_root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt || !up) { /* namespace root or detached mount */
			c->done = 1;
			return 1;
		}
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = up;
		c->vfsmnt = (struct vfsmount *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (d == parent || !parent) {
		c->flags |= FGS_PATH_UNREACHABLE;
		c->done = 1;
		return 1;
	}
	b = fgs_path_buffer();
	if (!b)
		return 1;
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len >= FGS_NAME_MAX || fgs_prepend_name(b, &c->off, name, len)) {
		c->flags |= FGS_PATH_TRUNCATED;
		return 1;
	}
	c->dentry = parent;
	return 0;
}

static __always_inline int fgs_dentry_unhashed(struct dentry *d)
{
	return BPF_CORE_READ(d, d_hash.pprev) == NULL &&
	       BPF_CORE_READ(d, d_parent) != d;
}

/* Walks c up to where it stops and fills res (res->buf already set). */
static __always_inline void fgs_dentry_walk_run(struct fgs_dentry_walk *c, struct fgs_path_res *res)
{
	bpf_loop(FGS_PATH_MAX_DEPTH, fgs_dentry_step, c, 0);
	if (!c->done)
		c->flags |= FGS_PATH_TRUNCATED;
	if (c->off == FGS_PATH_MAX) { /* the root itself */
		c->off -= 1;
		res->buf->data[c->off & FGS_PATH_MASK] = '/';
	}
	res->start = c->off;
	res->len = FGS_PATH_MAX - c->off;
	res->flags = c->flags;
}

/* Path of (mnt, dentry) relative to the task's root, like d_path. */
static __always_inline struct fgs_path_res
fgs_path_walk(struct vfsmount *vfsmnt, struct dentry *dentry, struct task_struct *task)
{
	struct fgs_path_res res = { .start = FGS_PATH_MAX };
	struct fgs_dentry_walk c = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = fgs_real_mount(vfsmnt),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.off = FGS_PATH_MAX,
	};

	res.buf = fgs_path_buffer();
	if (!res.buf || !dentry || !vfsmnt) {
		res.flags = FGS_PATH_ERROR;
		return res;
	}
	if (fgs_dentry_unhashed(dentry))
		c.flags |= FGS_PATH_UNLINKED;
	fgs_dentry_walk_run(&c, &res);
	return res;
}

/* Path of a dentry from the root of its filesystem: a dentry alone has no
 * mount, so the walk stops there (where a root dentry is its own parent). */
static __always_inline struct fgs_path_res fgs_dentry_path(struct dentry *dentry)
{
	struct fgs_path_res res = { .start = FGS_PATH_MAX };
	struct fgs_dentry_walk c = { .dentry = dentry, .off = FGS_PATH_MAX };

	res.buf = fgs_path_buffer();
	if (!res.buf || !dentry) {
		res.flags = FGS_PATH_ERROR;
		return res;
	}
	if (fgs_dentry_unhashed(dentry))
		c.flags |= FGS_PATH_UNLINKED;
	fgs_dentry_walk_run(&c, &res);
	res.flags &= ~FGS_PATH_UNREACHABLE;
	return res;
}

/* kernfs_node.parent became __parent in 6.15. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *fgs_kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___old, parent))
		return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	return BPF_CORE_READ(kn, __parent);
}

struct fgs_kernfs_walk {
	struct kernfs_node *kn;
	__u32 off;
	__u32 flags;
	__u32 done;
};

static long fgs_kernfs_step(__u32 i, void *ctx)
{
	struct fgs_kernfs_walk *c = ctx;
	struct kernfs_node *kn = c->kn;
	struct kernfs_node *parent = fgs_kernfs_parent(kn);
	struct fgs_path_buf *b;
	const char *name;
	long n;

	if (!parent) { /* the root's name is not part of the path */
		c->done = 1;
		return 1;
	}
	b = fgs_path_buffer();
	if (!b)
		return 1;
	name = BPF_CORE_READ(kn, name);
	n = bpf_probe_read_kernel_str(&b->data[FGS_PATH_MAX], FGS_NAME_MAX, name);
	if (n <= 0 || n >= FGS_NAME_MAX ||
	    fgs_prepend_name(b, &c->off, &b->data[FGS_PATH_MAX], n - 1)) {
		c->flags |= FGS_PATH_TRUNCATED;
		return 1;
	}
	c->kn = parent;
	return 0;
}

/* Path of a kernfs node (a cgroup directory) from its hierarchy's root. */
static __always_inline struct fgs_path_res fgs_kernfs_path(struct kernfs_node *kn)
{
	struct fgs_path_res res = { .start = FGS_PATH_MAX };
	struct fgs_kernfs_walk c = { .kn = kn, .off = FGS_PATH_MAX };

	res.buf = fgs_path_buffer();
	if (!res.buf || !kn) {
		res.flags = FGS_PATH_ERROR;
		return res;
	}
	bpf_loop(FGS_KERNFS_MAX_DEPTH, fgs_kernfs_step, &c, 0);
	if (!c.done)
		c.flags |= FGS_PATH_TRUNCATED;
	if (c.off == FGS_PATH_MAX) {
		c.off -= 1;
		res.buf->data[c.off & FGS_PATH_MASK] = '/';
	}
	res.start = c.off;
	res.len = FGS_PATH_MAX - c.off;
	res.flags = c.flags;
	return res;
}

#endif
