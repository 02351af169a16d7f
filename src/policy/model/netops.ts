/** Socket operators of matchArgs (the current language): SAddr, DAddr,
 * SPort, DPort (and their Not / Priv forms), Family, Protocol, State, on
 * sock, socket, skb and sockaddr arguments. Values are parsed here; the
 * kernel compares them (bpf/generic/netmatch.h). */
import type { ArgType } from "./names";
import { FAMILY_NUMBERS, PROTOCOL_NUMBERS, TCP_STATE_NUMBERS } from "../../decode/net-names";

export type NetField = "saddr" | "daddr" | "sport" | "dport" | "family" | "protocol" | "state";

export interface NetOperator {
  readonly field: NetField;
  readonly negate: boolean;
  /** SPortPriv / DPortPriv: the values are fixed to 0:1023 */
  readonly privileged: boolean;
}

export const NET_OPERATORS: Readonly<Record<string, NetOperator>> = {
  SAddr: { field: "saddr", negate: false, privileged: false },
  NotSAddr: { field: "saddr", negate: true, privileged: false },
  DAddr: { field: "daddr", negate: false, privileged: false },
  NotDAddr: { field: "daddr", negate: true, privileged: false },
  SPort: { field: "sport", negate: false, privileged: false },
  NotSPort: { field: "sport", negate: true, privileged: false },
  DPort: { field: "dport", negate: false, privileged: false },
  NotDPort: { field: "dport", negate: true, privileged: false },
  SPortPriv: { field: "sport", negate: false, privileged: true },
  NotSPortPriv: { field: "sport", negate: true, privileged: true },
  /* upstream's CRD spells this one with a lower-case p */
  NotSportPriv: { field: "sport", negate: true, privileged: true },
  DPortPriv: { field: "dport", negate: false, privileged: true },
  NotDPortPriv: { field: "dport", negate: true, privileged: true },
  Family: { field: "family", negate: false, privileged: false },
  Protocol: { field: "protocol", negate: false, privileged: false },
  State: { field: "state", negate: false, privileged: false },
};

/** Argument types the socket operators read. */
export const NET_TYPES: ReadonlySet<ArgType> = new Set(["sock", "socket", "skb", "sockaddr"]);

/** What a sockaddr has: one address and port, read as SAddr / SPort (upstream). */
const SOCKADDR_FIELDS: ReadonlySet<NetField> = new Set(["saddr", "sport", "family"]);

export function netFieldApplies(type: ArgType, field: NetField): string | null {
  if (type === "sockaddr" && !SOCKADDR_FIELDS.has(field)) {
    return "a sockaddr has one address and port, matched with SAddr/NotSAddr, SPort/NotSPort/SPortPriv and Family (as upstream; for connect(2) that is the destination)";
  }
  if (type === "skb" && field === "state") return "an skb has no socket state (State applies to sock and socket)";
  return null;
}

export interface Cidr {
  /** 4 or 6 */
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

function ipv4Bytes(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts.map(Number));
}

function ipv6Bytes(s: string): Uint8Array | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.split("::").length > 2) return null;
  let tail4: Uint8Array | null = null;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = ipv4Bytes(s.slice(lastColon + 1));
    if (!tail4) return null;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const words = (x: string) => (x === "" ? [] : x.split(":"));
  const hw = words(head);
  const rw = rest === undefined ? [] : words(rest);
  const fill = 8 - hw.length - rw.length;
  if ((rest === undefined && fill !== 0) || fill < 0 || (rest !== undefined && fill < 1)) return null;
  const all = [...hw, ...Array<string>(rest === undefined ? 0 : fill).fill("0"), ...rw];
  if (!all.every((w) => /^[0-9A-Fa-f]{1,4}$/.test(w))) return null;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    const n = parseInt(w, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

/** "10.0.0.0/8", "127.0.0.1", "2a01:56::1/128", "::1". */
export function parseCidr(raw: string): Cidr | string {
  const [addr = "", len, extra] = raw.trim().split("/");
  if (extra !== undefined) return "is not an address or CIDR";
  const v4 = ipv4Bytes(addr);
  const bytes = v4 ?? ipv6Bytes(addr);
  if (!bytes) return "is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)";
  const max = v4 ? 32 : 128;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : -1;
  if (prefix < 0 || prefix > max) return `has a prefix length out of 0..${max}`;
  return { version: v4 ? 4 : 6, bytes, prefix };
}

/** "443" or "8000:8999": [lo, hi]. */
export function parsePortRange(raw: string | number): [number, number] | string {
  const text = String(raw).trim();
  const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(text);
  if (!m) return "is not a port or a port range lo:hi";
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || lo > hi) return "is not a port range within 0..65535 with lo <= hi";
  return [lo, hi];
}

const NAMED: Readonly<Record<"family" | "protocol" | "state", { table: Readonly<Record<string, number>>; max: number; example: string }>> = {
  family: { table: FAMILY_NUMBERS, max: 0xffff, example: "AF_INET or 2" },
  protocol: { table: PROTOCOL_NUMBERS, max: 0xffff, example: "IPPROTO_TCP or 6" },
  state: { table: TCP_STATE_NUMBERS, max: 0xff, example: "TCP_ESTABLISHED or 1" },
};

/** A Family / Protocol / State value: a name or a number. */
export function parseNamedValue(field: "family" | "protocol" | "state", raw: string | number): number | string {
  const { table, max, example } = NAMED[field];
  const text = String(raw).trim();
  const named = table[text.toUpperCase()];
  if (named !== undefined) return named;
  if (/^\d+$/.test(text) && Number(text) <= max) return Number(text);
  return `is not a ${field} (expected a name or number such as ${example})`;
}
