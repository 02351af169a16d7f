/** A validated hook → the bytes of its kernel configuration (gen_hook_cfg)
 * and the keys of its string and binary matcher maps. */
import {
  ACTION, ARG_CFG, ARG_M, ActionFlag, ArgFlag, BIN_KEY, CAP_M, CapSet, GEN, GenAction, GenBin, GenKind, GenOp,
  GenSet, GenType, HOOK_CFG, HookFlag, LPM_KEY, NS_M, PID_M, PidFlag, SELECTOR, STR_KEY,
} from "./layout";
import type {
  ArgMatcher, BinariesMatcher, CapabilitiesMatcher, Hook, NamespaceMatcher, PidMatcher, PolicyAction, PolicyArg, Selector,
} from "../model/model";
import { NAMESPACE_INDEX, type ArgOperator, type ArgType, type NamespaceType } from "../model/names";

/** Where one argument comes from, as the hook's mechanism resolved it. */
export interface ArgPlacement {
  /** kprobe/fentry argument position */
  readonly slot: number;
  /** tracepoint field offset and size (array length for inline arrays) */
  readonly off: number;
  readonly fsize: number;
  /** ArgFlag.inline | dataLoc | signed */
  readonly flags: number;
}

export interface CompileTarget {
  readonly hookId: number;
  /** kprobe/fentry on a syscall wrapper: arguments in the user's pt_regs */
  readonly syscallWrapper: boolean;
  /** syscall arguments: pointers are user memory */
  readonly userPointers: boolean;
  readonly hostUserNs: number;
  readonly hostNamespaces: ReadonlyMap<NamespaceType, number>;
  place(index: number): ArgPlacement;
}

export interface CompiledHook {
  readonly config: Uint8Array;
  readonly strEq: readonly Uint8Array[];
  readonly strPrefix: readonly Uint8Array[];
  readonly strPostfix: readonly Uint8Array[];
  readonly binaries: readonly Uint8Array[];
  /** an exit program completes the record (return value, returnCopy, matchReturnArgs) */
  readonly needsExit: boolean;
  readonly needsOverride: boolean;
}

const TYPE_CODE: Readonly<Record<ArgType, number>> = {
  int: GenType.int, sint32: GenType.int, uint32: GenType.uint32, sint64: GenType.sint64,
  uint64: GenType.uint64, size_t: GenType.size, long: GenType.long, string: GenType.string,
  char_buf: GenType.charBuf, char_iovec: GenType.charIovec, fd: GenType.fd, file: GenType.file,
  path: GenType.path, filename: GenType.filename, skb: GenType.skb, sock: GenType.sock,
  cred: GenType.cred, nop: GenType.nop,
  sockaddr: GenType.sockaddr, socket: GenType.socket, syscall64: GenType.syscall64, capability: GenType.capability,
  linux_binprm: GenType.linuxBinprm, kiocb: GenType.kiocb, net_device: GenType.netDevice, module: GenType.module,
  bpf_attr: GenType.bpfAttr, bpf_map: GenType.bpfMap, user_namespace: GenType.userNamespace,
  dentry: GenType.dentry, iov_iter: GenType.iovIter, load_info: GenType.loadInfo, perf_event: GenType.perfEvent,
  /* refused by validate.ts before compiling */
  sockaddr_un: GenType.nop, bpf_prog: GenType.nop, bpf_cmd: GenType.nop,
  kernel_cap_t: GenType.nop, cap_inheritable: GenType.nop, cap_permitted: GenType.nop, cap_effective: GenType.nop,
  data_loc: GenType.nop, const_buf: GenType.nop, int8: GenType.nop, int16: GenType.nop, uint8: GenType.nop,
  uint16: GenType.nop, ulong: GenType.nop, auto: GenType.nop,
};

const OP_CODE: Readonly<Record<ArgOperator, number>> = {
  Equal: GenOp.eq, In: GenOp.eq, NotEqual: GenOp.neq, NotIn: GenOp.neq, Prefix: GenOp.prefix,
  Postfix: GenOp.postfix, Mask: GenOp.mask, GT: GenOp.gt, LT: GenOp.lt,
  NotPrefix: GenOp.notPrefix, NotPostfix: GenOp.notPostfix, InRange: GenOp.inRange, NotInRange: GenOp.notInRange,
  FileType: GenOp.fileType, NotFileType: GenOp.notFileType,
};

const ACTION_CODE: Readonly<Record<PolicyAction["action"], number>> = {
  Post: GenAction.post, FollowFD: GenAction.followFd, Sigkill: GenAction.sigkill,
  UnfollowFD: GenAction.unfollowFd, Override: GenAction.override, CopyFD: GenAction.copyFd,
  /* no kernel action: user space drops the selector's records (manager.postRule) */
  NoPost: GenAction.none,
  /* the kernel posts the record; the agent does the request (user-actions.ts) */
  GetUrl: GenAction.post, DnsLookup: GenAction.post,
  Signal: GenAction.signal,
  NotifyEnforcer: GenAction.notifyEnforcer,
};

const BIN_OP_CODE: Readonly<Record<BinariesMatcher["operator"], number>> = {
  In: GenSet.in, NotIn: GenSet.notIn, Prefix: GenBin.prefix, NotPrefix: GenBin.notPrefix,
  Postfix: GenBin.postfix, NotPostfix: GenBin.notPostfix,
};

const utf8 = new TextEncoder();
const setCode = (op: "In" | "NotIn"): number => (op === "In" ? GenSet.in : GenSet.notIn);

/** Accumulates map keys for the text matchers of one hook. */
class TextKeys {
  private nextId = 1;
  readonly eq: Uint8Array[] = [];
  readonly prefix: Uint8Array[] = [];
  readonly postfix: Uint8Array[] = [];

  add(m: Extract<ArgMatcher, { kind: "text" }>): number {
    const id = this.nextId++;
    for (const value of m.values) {
      const bytes = utf8.encode(value);
      if (m.operator === "Prefix" || m.operator === "NotPrefix") this.prefix.push(lpmKey(id, bytes));
      else if (m.operator === "Postfix" || m.operator === "NotPostfix") this.postfix.push(lpmKey(id, bytes.slice().reverse()));
      else this.eq.push(strKey(id, bytes));
    }
    return id;
  }

  /** CIDRs of a socket address matcher: [family byte, address] under a new id. */
  addCidrs(m: Extract<ArgMatcher, { kind: "net" }>): number {
    const id = this.nextId++;
    for (const c of m.cidrs) {
      const key = lpmKey(id, Uint8Array.of(c.version, ...c.bytes));
      new DataView(key.buffer).setUint32(LPM_KEY.prefixlen, 8 + 8 + c.prefix, true);
      this.prefix.push(key);
    }
    return id;
  }
}

function strKey(id: number, bytes: Uint8Array): Uint8Array {
  const key = new Uint8Array(STR_KEY.bytes);
  const v = new DataView(key.buffer);
  v.setUint32(STR_KEY.id, id, true);
  v.setUint32(STR_KEY.len, bytes.length, true);
  key.set(bytes, STR_KEY.s);
  return key;
}

function lpmKey(id: number, bytes: Uint8Array): Uint8Array {
  const key = new Uint8Array(LPM_KEY.bytes);
  new DataView(key.buffer).setUint32(LPM_KEY.prefixlen, 8 + 8 * bytes.length, true);
  key[LPM_KEY.id] = id;
  key.set(bytes, LPM_KEY.s);
  return key;
}

export function binaryKey(selector: number, path: string): Uint8Array {
  const key = new Uint8Array(BIN_KEY.bytes);
  new DataView(key.buffer).setUint32(BIN_KEY.sel, selector, true);
  key.set(utf8.encode(path), BIN_KEY.path);
  return key;
}

function writeArgCfg(v: DataView, at: number, arg: PolicyArg | { index: number; type: ArgType }, t: CompileTarget): void {
  const p = t.place(arg.index);
  const sizeArg = "sizeArgIndex" in arg ? arg.sizeArgIndex : 0;
  const size = sizeArg > 0 ? t.place(sizeArg - 1) : null;
  let flags = p.flags;
  if (t.userPointers) flags |= ArgFlag.userFirst;
  if ("returnCopy" in arg && arg.returnCopy) flags |= ArgFlag.returnCopy;
  v.setUint8(at + ARG_CFG.type, TYPE_CODE[arg.type]);
  v.setUint8(at + ARG_CFG.flags, flags);
  v.setUint8(at + ARG_CFG.slot, p.slot);
  v.setUint8(at + ARG_CFG.sizeSlot, size ? size.slot + 1 : 0);
  v.setUint16(at + ARG_CFG.off, p.off, true);
  v.setUint16(at + ARG_CFG.fsize, p.fsize, true);
  v.setUint16(at + ARG_CFG.sizeOff, size ? size.off : 0, true);
  v.setUint16(at + ARG_CFG.sizeFsize, size ? size.fsize : 0, true);
}

function writePid(v: DataView, at: number, m: PidMatcher): void {
  v.setUint8(at + PID_M.op, setCode(m.operator));
  v.setUint8(at + PID_M.flags, (m.followForks ? PidFlag.followForks : 0) | (m.isNamespacePID ? PidFlag.nsPid : 0));
  v.setUint8(at + PID_M.n, m.values.length);
  m.values.forEach((pid, i) => v.setUint32(at + PID_M.values + 4 * i, pid, true));
}

/** Position of the argument with this policy index in the hook's args. */
function position(hook: Hook, index: number): number {
  return hook.args.findIndex((a) => a.index === index);
}

function writeNetMatcher(v: DataView, at: number, m: Extract<ArgMatcher, { kind: "net" }>, keys: TextKeys): void {
  v.setUint8(at + ARG_M.op, m.negate ? GenOp.neq : GenOp.eq);
  v.setUint8(at + ARG_M.kind, GenKind[m.field]);
  if (m.field === "saddr" || m.field === "daddr") {
    v.setUint32(at + ARG_M.id, keys.addCidrs(m), true);
    return;
  }
  const values = m.field === "sport" || m.field === "dport" ? m.ranges.map(([lo, hi]) => lo + hi * 0x10000) : m.values;
  v.setUint8(at + ARG_M.n, values.length);
  values.forEach((x, i) => v.setBigUint64(at + ARG_M.values + 8 * i, BigInt(x), true));
}

function writeArgMatcher(v: DataView, at: number, m: ArgMatcher, slot: number, keys: TextKeys): void {
  v.setUint8(at + ARG_M.arg, slot);
  if (m.kind === "net") {
    writeNetMatcher(v, at, m, keys);
    return;
  }
  v.setUint8(at + ARG_M.op, OP_CODE[m.operator]);
  if (m.kind === "text") {
    v.setUint8(at + ARG_M.kind, GenKind.text);
    v.setUint32(at + ARG_M.id, keys.add(m), true);
    return;
  }
  v.setUint8(at + ARG_M.kind, GenKind.int);
  const values = m.operator === "Mask" ? [m.values.reduce((a, b) => a | BigInt.asUintN(64, b), 0n)] : m.values;
  v.setUint8(at + ARG_M.n, values.length);
  values.forEach((x, i) => v.setBigUint64(at + ARG_M.values + 8 * i, BigInt.asUintN(64, x), true));
}

function writeNs(v: DataView, at: number, m: NamespaceMatcher, host: ReadonlyMap<NamespaceType, number>): void {
  v.setUint8(at + NS_M.ns, NAMESPACE_INDEX[m.namespace]);
  v.setUint8(at + NS_M.op, setCode(m.operator));
  v.setUint8(at + NS_M.n, m.values.length);
  m.values.forEach((x, i) => v.setUint32(at + NS_M.values + 4 * i, x === "host_ns" ? host.get(m.namespace) ?? 0 : x, true));
}

function writeCaps(v: DataView, at: number, m: CapabilitiesMatcher): void {
  v.setUint8(at + CAP_M.set, CapSet[m.type]);
  v.setUint8(at + CAP_M.op, setCode(m.operator));
  v.setUint8(at + CAP_M.nsCap, m.isNamespaceCapability ? 1 : 0);
  v.setBigUint64(at + CAP_M.mask, m.values.reduce((a, c) => a | (1n << BigInt(c)), 0n), true);
}

function writeAction(v: DataView, at: number, a: PolicyAction, hook: Hook): void {
  v.setUint8(at + ACTION.action, ACTION_CODE[a.action]);
  if (a.action === "Override") v.setInt32(at + ACTION.err, a.argError, true);
  if (a.action === "Signal" || a.action === "NotifyEnforcer") v.setInt32(at + ACTION.err, a.sig, true);
  if (a.action === "FollowFD" || a.action === "CopyFD" || a.action === "UnfollowFD") {
    v.setUint8(at + ACTION.argFd, Math.max(0, position(hook, a.argFd)));
  }
  if (a.action === "FollowFD" || a.action === "CopyFD") {
    v.setUint8(at + ACTION.argName, a.action === "FollowFD" || !a.fdFromReturn ? Math.max(0, position(hook, a.argName)) : 0);
    v.setUint8(at + ACTION.flags, a.fdFromReturn ? ActionFlag.fromReturn : 0);
  }
}

function writeNamespaceChanges(v: DataView, at: number, s: Selector): void {
  const m = s.matchNamespaceChanges[0];
  if (!m) return;
  v.setUint8(at + SELECTOR.nschgOp, setCode(m.operator));
  v.setUint16(at + SELECTOR.nschgMask, m.values.reduce((mask, ns) => mask | (1 << NAMESPACE_INDEX[ns]), 0), true);
}

function writeSelector(v: DataView, at: number, s: Selector, hook: Hook, t: CompileTarget, keys: TextKeys): void {
  const counts: Array<[number, number]> = [
    [SELECTOR.npid, s.matchPIDs.length], [SELECTOR.narg, s.matchArgs.length],
    [SELECTOR.nret, s.matchReturnArgs.length], [SELECTOR.nns, s.matchNamespaces.length],
    [SELECTOR.ncap, s.matchCapabilities.length], [SELECTOR.ncapchg, s.matchCapabilityChanges.length],
    [SELECTOR.nact, s.matchActions.length],
  ];
  for (const [off, n] of counts) v.setUint8(at + off, n);
  s.matchPIDs.forEach((m, i) => writePid(v, at + SELECTOR.pid + i * PID_M.bytes, m));
  s.matchArgs.forEach((m, i) => writeArgMatcher(v, at + SELECTOR.arg + i * ARG_M.bytes, m, position(hook, m.index), keys));
  s.matchReturnArgs.forEach((m, i) => writeArgMatcher(v, at + SELECTOR.ret + i * ARG_M.bytes, m, GEN.retSlot, keys));
  const bin = s.matchBinaries[0];
  if (bin) v.setUint8(at + SELECTOR.binOp, BIN_OP_CODE[bin.operator]);
  s.matchNamespaces.forEach((m, i) => writeNs(v, at + SELECTOR.ns + i * NS_M.bytes, m, t.hostNamespaces));
  writeNamespaceChanges(v, at, s);
  s.matchCapabilities.forEach((m, i) => writeCaps(v, at + SELECTOR.cap + i * CAP_M.bytes, m));
  s.matchCapabilityChanges.forEach((m, i) => writeCaps(v, at + SELECTOR.capchg + i * CAP_M.bytes, m));
  s.matchActions.forEach((a, i) => writeAction(v, at + SELECTOR.act + i * ACTION.bytes, a, hook));
}

function hookFlags(hook: Hook, t: CompileTarget, needsExit: boolean): number {
  let flags = needsExit ? HookFlag.exit : 0;
  if (hook.kind === "tracepoint") flags |= HookFlag.tracepoint;
  if (hook.kind === "kprobe" && hook.return) flags |= HookFlag.hasRet;
  if (t.syscallWrapper) flags |= HookFlag.syscall;
  return flags;
}

export function hookNeedsExit(hook: Hook): boolean {
  return hook.kind === "kprobe" && (hook.return || hook.args.some((a) => a.returnCopy));
}

export function hookNeedsOverride(hook: Hook): boolean {
  return hook.selectors.some((s) => s.matchActions.some((a) => a.action === "Override"));
}

/** matchBinaries keys: exact paths by selector, or prefix / postfix trie keys. */
function binaryKeys(hook: Hook): { exact: Uint8Array[]; prefix: Uint8Array[]; postfix: Uint8Array[] } {
  const out = { exact: [] as Uint8Array[], prefix: [] as Uint8Array[], postfix: [] as Uint8Array[] };
  hook.selectors.forEach((s, i) => {
    const m = s.matchBinaries[0];
    if (!m) return;
    for (const p of m.values) {
      const bytes = utf8.encode(p);
      if (m.operator === "Prefix" || m.operator === "NotPrefix") out.prefix.push(lpmKey(GenBin.binTextId + i, bytes));
      else if (m.operator === "Postfix" || m.operator === "NotPostfix") out.postfix.push(lpmKey(GenBin.binTextId + i, bytes.slice().reverse()));
      else out.exact.push(binaryKey(i, p));
    }
  });
  return out;
}

export function compileHook(hook: Hook, t: CompileTarget): CompiledHook {
  const bytes = new Uint8Array(HOOK_CFG.bytes);
  const v = new DataView(bytes.buffer);
  const keys = new TextKeys();
  const needsExit = hookNeedsExit(hook);
  v.setUint32(HOOK_CFG.hookId, t.hookId, true);
  v.setUint32(HOOK_CFG.flags, hookFlags(hook, t, needsExit), true);
  v.setUint8(HOOK_CFG.nargs, hook.args.length);
  v.setUint8(HOOK_CFG.nsel, hook.selectors.length);
  v.setUint32(HOOK_CFG.hostUserNs, t.hostUserNs, true);
  hook.args.forEach((a, i) => writeArgCfg(v, HOOK_CFG.args + i * ARG_CFG.bytes, a, t));
  if (hook.kind === "kprobe" && hook.returnArg) v.setUint8(HOOK_CFG.ret + ARG_CFG.type, TYPE_CODE[hook.returnArg.type]);
  hook.selectors.forEach((s, i) => writeSelector(v, HOOK_CFG.sel + i * SELECTOR.bytes, s, hook, t, keys));
  const bins = binaryKeys(hook);
  return {
    config: bytes, strEq: keys.eq, strPrefix: [...keys.prefix, ...bins.prefix], strPostfix: [...keys.postfix, ...bins.postfix], binaries: bins.exact,
    needsExit, needsOverride: hookNeedsOverride(hook),
  };
}
