/** Names of socket families, IP protocols and TCP states, as events show
 * them and as policies may write them (src/policy/model/netops.ts). */

export const FAMILY_NUMBERS: Readonly<Record<string, number>> = {
  AF_UNSPEC: 0, AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_AX25: 3, AF_IPX: 4, AF_APPLETALK: 5,
  AF_NETROM: 6, AF_BRIDGE: 7, AF_INET6: 10, AF_KEY: 15, AF_NETLINK: 16, AF_PACKET: 17,
  AF_RDS: 21, AF_LLC: 26, AF_CAN: 29, AF_TIPC: 30, AF_BLUETOOTH: 31, AF_ALG: 38, AF_VSOCK: 40,
  AF_KCM: 41, AF_QIPCRTR: 42, AF_SMC: 43, AF_XDP: 44, AF_MCTP: 45,
};

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  IPPROTO_IP: 0, IPPROTO_ICMP: 1, IPPROTO_IGMP: 2, IPPROTO_IPIP: 4, IPPROTO_TCP: 6, IPPROTO_EGP: 8,
  IPPROTO_PUP: 12, IPPROTO_UDP: 17, IPPROTO_IDP: 22, IPPROTO_TP: 29, IPPROTO_DCCP: 33,
  IPPROTO_IPV6: 41, IPPROTO_RSVP: 46, IPPROTO_GRE: 47, IPPROTO_ESP: 50, IPPROTO_AH: 51,
  IPPROTO_ICMPV6: 58, IPPROTO_MTP: 92, IPPROTO_BEETPH: 94, IPPROTO_ENCAP: 98, IPPROTO_PIM: 103,
  IPPROTO_COMP: 108, IPPROTO_L2TP: 115, IPPROTO_SCTP: 132, IPPROTO_UDPLITE: 136, IPPROTO_MPLS: 137,
  IPPROTO_ETHERNET: 143, IPPROTO_RAW: 255, IPPROTO_MPTCP: 262,
};

export const TCP_STATE_NUMBERS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1, TCP_SYN_SENT: 2, TCP_SYN_RECV: 3, TCP_FIN_WAIT1: 4, TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6, TCP_CLOSE: 7, TCP_CLOSE_WAIT: 8, TCP_LAST_ACK: 9, TCP_LISTEN: 10,
  TCP_CLOSING: 11, TCP_NEW_SYN_RECV: 12, TCP_BOUND_INACTIVE: 13,
};

/** Name of a number in one of the tables above (AF_LOCAL is AF_UNIX). */
export function nameOf(table: Readonly<Record<string, number>>, n: number): string | undefined {
  return Object.keys(table).find((k) => table[k] === n && k !== "AF_LOCAL");
}
