/** Parsing of matcher values (numbers, capability and namespace names). */
import type { ArgType } from "../model/names";
import { CAPABILITIES, NAMESPACES, type NamespaceType } from "../model/names";
import type { NamespaceValue } from "../model/model";

const NUMBER_RE = /^-?(0x[0-9a-fA-F]+|[0-9]+)$/;

export function parseInteger(raw: string | number): bigint | null {
  const text = String(raw).trim();
  if (!NUMBER_RE.test(text)) return null;
  const negative = text.startsWith("-");
  const digits = negative ? text.slice(1) : text;
  const value = BigInt(digits);
  return negative ? -value : value;
}

/** Inclusive range of each integer argument type, as the kernel reads it. */
export function intRange(type: ArgType): readonly [bigint, bigint] {
  switch (type) {
    case "uint32":
      return [0n, 0xffffffffn];
    case "int":
    case "sint32":
      return [-(2n ** 31n), 2n ** 31n - 1n];
    case "uint64":
    case "size_t":
      return [0n, 2n ** 64n - 1n];
    default:
      return [-(2n ** 63n), 2n ** 63n - 1n];
  }
}

export function parsePid(raw: string | number): number | null {
  const v = parseInteger(raw);
  return v !== null && v >= 0n && v <= 0xffffffffn ? Number(v) : null;
}

export function parseNamespaceValue(raw: string | number): NamespaceValue | null {
  if (raw === "host_ns") return "host_ns";
  const v = parseInteger(raw);
  return v !== null && v > 0n && v <= 0xffffffffn ? Number(v) : null;
}

export function parseNamespaceType(raw: string | number): NamespaceType | null {
  return (NAMESPACES as readonly string[]).includes(String(raw)) ? (String(raw) as NamespaceType) : null;
}

export function parseCapability(raw: string | number): number | null {
  return CAPABILITIES[String(raw)] ?? null;
}

export const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8");
