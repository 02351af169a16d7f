import type {
  CapabilitiesType,
  KprobeArgument,
  KprobeSkb,
  KprobeSock,
  KprobeTruncatedBytes,
} from "../../gen/tetragon/tetragon_pb";
import { CapabilitiesTypeSchema } from "../../gen/tetragon/tetragon_pb";
import { escapeBytes, escapeForTerminal } from "./escape";

/** Name of a capability as it appears in JSON (CAP_SYS_ADMIN, DAC_OVERRIDE). */
export function capabilityName(capability: CapabilitiesType): string {
  return CapabilitiesTypeSchema.value[capability]?.name ?? `CAP_${capability}`;
}

/** A kprobe or tracepoint argument as one escaped word (or a few). */
export function formatArgument(argument: KprobeArgument): string {
  const arg = argument.arg;
  switch (arg.case) {
    case "stringArg":
      return escapeForTerminal(arg.value);
    case "intArg":
    case "longArg":
    case "sizeArg":
      return arg.value.toString();
    case "bytesArg":
      return escapeBytes(arg.value);
    case "truncatedBytesArg":
      return formatTruncatedBytes(arg.value);
    case "pathArg":
    case "fileArg":
      return escapeForTerminal(arg.value.path);
    case "sockArg":
      return formatSock(arg.value);
    case "skbArg":
      return formatSkb(arg.value);
    case "credArg":
      return arg.value.effective.map(capabilityName).join(",") || "nocaps";
    /* kernel-struct arguments of the current TracingPolicy language */
    case "sockaddrArg":
      return `${escapeForTerminal(arg.value.family)} ${endpoint(arg.value.addr, arg.value.port)}`;
    case "linuxBinprmArg":
      return escapeForTerminal(arg.value.path);
    case "capabilityArg":
      return escapeForTerminal(arg.value.name || String(arg.value.value ?? ""));
    case "syscallId":
      return `${escapeForTerminal(arg.value.abi)}/${arg.value.id}`;
    case "netDevArg":
    case "moduleArg":
      return escapeForTerminal(arg.value.name);
    case "bpfAttrArg":
      return escapeForTerminal(`${arg.value.ProgType} ${arg.value.ProgName} ${arg.value.InsnCnt}`);
    case "bpfMapArg":
      return escapeForTerminal(`${arg.value.MapType} ${arg.value.MapName}`);
    case "userNsArg":
      return `userns:${arg.value.ns?.inum ?? "?"}`;
    case "perfEventArg":
      return escapeForTerminal(`${arg.value.Type} ${arg.value.KprobeFunc}`);
    case undefined:
      return "?";
  }
}

function formatTruncatedBytes(truncated: KprobeTruncatedBytes): string {
  return `${escapeBytes(truncated.bytesArg)}…(${truncated.origSize} bytes)`;
}

function formatSock(sock: KprobeSock): string {
  const protocol = escapeForTerminal(sock.protocol || sock.family);
  const source = endpoint(sock.saddr, sock.sport);
  const destination = endpoint(sock.daddr, sock.dport);
  return `${protocol} ${source} → ${destination}`;
}

function formatSkb(skb: KprobeSkb): string {
  return `${endpoint(skb.saddr, skb.sport)} → ${endpoint(skb.daddr, skb.dport)}`;
}

function endpoint(address: string, port: number): string {
  const host = escapeForTerminal(address);
  return address.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
