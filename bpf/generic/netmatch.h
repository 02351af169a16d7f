/* Socket operators of matchArgs (DAddr, SPort, Family, ...) on sock, socket,
 * skb and sockaddr arguments, read from the encoded payload. A sockaddr's
 * address and port are its SAddr and SPort, as upstream reads them. */
#ifndef FGS_GENERIC_NETMATCH_H
#define FGS_GENERIC_NETMATCH_H

/* The compared fields of one encoded argument. */
struct gen_net_view {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 protocol;
	__u16 state;
	__u8 has_state;
	__u8 has_dest;  /* sock and skb; a sockaddr has one address */
	__u8 *saddr;
	__u8 *daddr;
};

static __always_inline int gen_net_view_of(struct gen_arg_hdr *h, struct gen_net_view *v)
{
	__u8 *p = (__u8 *)(h + 1);

	if (h->flags & GEN_AF_ERROR)
		return 0;
	if ((h->type == GEN_T_SOCK || h->type == GEN_T_SOCKET) && h->len >= sizeof(struct gen_sock)) {
		struct gen_sock *s = (struct gen_sock *)p;

		v->family = s->family;
		v->sport = s->sport;
		v->dport = s->dport;
		v->protocol = s->protocol;
		v->state = s->state;
		v->has_state = 1;
		v->has_dest = 1;
		v->saddr = s->saddr;
		v->daddr = s->daddr;
		return 1;
	}
	if (h->type == GEN_T_SKB && h->len >= sizeof(struct gen_skb)) {
		struct gen_skb *s = (struct gen_skb *)p;

		v->family = s->family;
		v->sport = s->sport;
		v->dport = s->dport;
		v->protocol = s->proto;
		v->has_dest = 1;
		v->saddr = s->saddr;
		v->daddr = s->daddr;
		return 1;
	}
	if (h->type == GEN_T_SOCKADDR && h->len >= sizeof(struct gen_sockaddr)) {
		struct gen_sockaddr *s = (struct gen_sockaddr *)p;

		v->family = s->family;
		v->sport = s->port;
		v->saddr = s->addr;
		v->daddr = s->addr;
		return 1;
	}
	return 0;
}

/* An address within one of the matcher's CIDRs: key [family byte, address]. */
static __always_inline int gen_net_addr_listed(struct gen_arg_m *m, struct gen_scratch *s, __u16 family, __u8 *addr)
{
	__u32 n = family == GEN_AF_INET ? 4 : 16;

	if (family != GEN_AF_INET && family != GEN_AF_INET6)
		return 0;
	s->lpm.prefixlen = 8 + 8 + 8 * n;
	s->lpm.id = m->id;
	s->lpm.s[0] = family == GEN_AF_INET ? 4 : 6;
	bpf_probe_read_kernel(&s->lpm.s[1], n & 31, addr);
	return bpf_map_lookup_elem(&gen_str_prefix, &s->lpm) != NULL;
}

static __always_inline int gen_net_value_listed(struct gen_arg_m *m, __u64 v, int ranges)
{
	__u32 j;

	for (j = 0; j < GEN_MAX_VALUES; j++) {
		__u64 w = m->values[j];

		if (j >= m->n)
			break;
		if (ranges ? (v >= (w & 0xffff) && v <= ((w >> 16) & 0xffff)) : v == w)
			return 1;
	}
	return 0;
}

/* Global: older verifiers (6.1) take the scratch only from a lookup here. */
__noinline int gen_match_net(struct gen_arg_m *m, struct gen_event_buf *ev)
{
	struct gen_scratch *s = gen_scratch();
	struct gen_net_view v = {};
	struct gen_arg_hdr *h;
	int found;

	if (!m || !ev || !s)
		return 0;
	h = gen_slot(ev, m->arg);
	if (!h || !gen_net_view_of(h, &v))
		return 0;
	switch (m->kind) {
	case GEN_KIND_SADDR:
		found = gen_net_addr_listed(m, s, v.family, v.saddr);
		break;
	case GEN_KIND_DADDR:
		if (!v.has_dest)
			return 0;
		found = gen_net_addr_listed(m, s, v.family, v.daddr);
		break;
	case GEN_KIND_SPORT:
		found = gen_net_value_listed(m, v.sport, 1);
		break;
	case GEN_KIND_DPORT:
		if (!v.has_dest)
			return 0;
		found = gen_net_value_listed(m, v.dport, 1);
		break;
	case GEN_KIND_FAMILY:
		found = gen_net_value_listed(m, v.family, 0);
		break;
	case GEN_KIND_PROTOCOL:
		found = gen_net_value_listed(m, v.protocol, 0);
		break;
	case GEN_KIND_STATE:
		if (!v.has_state)
			return 0;
		found = gen_net_value_listed(m, v.state, 0);
		break;
	default:
		return 0;
	}
	return m->op == GEN_OP_NEQ ? !found : found;
}

#endif
