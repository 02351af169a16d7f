/** Checks that need more than the schema (cross references, value syntax,
 * operator/type fit) and turns a schema-valid document into the model. */
import type { IssueList } from "../model/errors";
import { LIMITS } from "./limits";
import type {
  ArgMatcher, BinariesMatcher, CapabilitiesMatcher, Hook, KprobeHook, LsmHook, NamespaceChangesMatcher, UsdtHook,
  NamespaceMatcher, PidMatcher, PolicyAction, PolicyArg, Selector, TracepointHook, UprobeHook,
} from "../model/model";
import { NET_OPERATORS, NET_TYPES, netFieldApplies, parseCidr, parseNamedValue, parsePortRange, type Cidr, type NetOperator } from "../model/netops";
import {
  API_VERSION, CAPABILITIES, INT_OPERATORS, INT_TYPES, SIZED_BUFFER_TYPES, TEXT_OPERATORS, TEXT_TYPES,
  UNSUPPORTED_OPERATORS, UNSUPPORTED_TYPES, normalizeArgOperator, normalizeArgType, type ArgType, type NamespaceType,
} from "../model/names";
import type {
  ActionDoc, ArgDoc, ArgMatchDoc, CapabilitiesDoc, KprobeDoc, ListDoc, LsmHookDoc, PolicyDocument, ScalarValue, UprobeDoc, UsdtDoc,
  SelectorDoc, TracepointDoc,
} from "./schema";
import { describeValue } from "./schema";
import { syscallBaseName, syscallNumbers } from "../model/syscalls";
import {
  intRange, parseCapability, parseInteger, parseNamespaceType, parseNamespaceValue, parsePid, utf8Length,
} from "./values";

/* What cannot be shown on one line of a terminal or a log: C0/C1 controls,
 * DEL, line/paragraph separators and bidirectional overrides. */
const UNSHOWABLE_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;
const CALL_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const TRACEPOINT_RE = /^[A-Za-z0-9_]+$/;
/** Kernel-struct pointer types: kprobe arguments only. */
const STRUCT_TYPES: ReadonlySet<ArgType> = new Set([
  "socket", "linux_binprm", "kiocb", "net_device", "module", "bpf_attr", "bpf_map", "user_namespace", "dentry", "iov_iter", "load_info", "perf_event",
]);
const FD_TYPES: ReadonlySet<ArgType> = new Set(["int", "fd", "uint32", "sint32", "long"]);
const NAME_TYPES: ReadonlySet<ArgType> = new Set(["string", "filename", "file", "path", "char_buf"]);

/** What selectors of one hook may refer to. */
interface HookView {
  readonly kind: "kprobe" | "tracepoint" | "uprobe" | "lsm";
  readonly args: readonly PolicyArg[];
  readonly returnType: ArgType | null;
  readonly returnIndex: number;
  /** spec.lists, for "list:NAME" values */
  readonly lists: ReadonlyMap<string, readonly string[]>;
}

export function checkDocument(doc: PolicyDocument, issues: IssueList): void {
  if (doc.apiVersion !== API_VERSION) {
    issues.add("apiVersion", `unsupported ${describeValue(doc.apiVersion)} (expected ${API_VERSION})`);
  }
  checkName(doc.metadata.name, issues);
  (doc.spec.options ?? []).forEach((o, i) => {
    issues.warn(`spec.options[${i}]`, `ignored: option ${describeValue(o.name)} tunes the upstream agent's loader and has no effect here`);
  });
  if (doc.spec.loader) issues.warn("spec.loader", "ignored: process_loader events are not produced here");
  checkEnforcers(doc, issues);
  for (const field of ["podSelector", "containerSelector", "hostSelector"] as const) {
    if (doc.spec[field]) {
      const what = field === "hostSelector" ? "node" : "pod or container";
      issues.warn(`spec.${field}`, `there is no Kubernetes here, so no ${what} matches: the policy is loaded disabled (it would select nothing); enable it to apply it to every process on this host`);
    }
  }
  const count = (doc.spec.kprobes?.length ?? 0) + (doc.spec.fentries?.length ?? 0) + (doc.spec.tracepoints?.length ?? 0) + (doc.spec.uprobes?.length ?? 0)
    + (doc.spec.lsmhooks?.length ?? 0) + (doc.spec.usdts?.length ?? 0);
  if (count === 0) issues.add("spec", "no hooks (expected kprobes, tracepoints or uprobes)");
  if (count > LIMITS.hooksPerPolicy) issues.add("spec", `too many hooks (${count}, at most ${LIMITS.hooksPerPolicy})`);
}

/** Names are free-form (the original took any string): refused only when
 * empty, over LIMITS.policyNameLength bytes, blank, or not showable. */
/** A syscall name in any spelling; any name when the system lacks the numbers table. */
function isSyscall(call: string): boolean {
  const table = syscallNumbers();
  return table instanceof Error || table.has(syscallBaseName(call, true) ?? call);
}

/** spec.enforcers: the calls must be syscalls or lists; a NotifyEnforcer needs them. */
function checkEnforcers(doc: PolicyDocument, issues: IssueList): void {
  const enforcers = doc.spec.enforcers ?? [];
  const lists = new Set((doc.spec.lists ?? []).map((l) => l.name));
  enforcers.forEach((e, i) => e.calls.forEach((call, j) => {
    const name = call.startsWith("list:") ? call.slice(5) : null;
    if (name !== null && !lists.has(name)) issues.add(`spec.enforcers[${i}].calls[${j}]`, `no list named ${describeValue(name)} in spec.lists`);
    if (name === null && !isSyscall(call)) issues.add(`spec.enforcers[${i}].calls[${j}]`, `${describeValue(call)} is not a syscall of this architecture`);
  }));
  const hooks = [...(doc.spec.kprobes ?? []), ...(doc.spec.fentries ?? []), ...(doc.spec.tracepoints ?? []), ...(doc.spec.uprobes ?? [])];
  const notifies = hooks.some((h) => (h.selectors ?? []).some((s) => (s.matchActions ?? []).some((a) => a.action === "NotifyEnforcer")));
  if (notifies && enforcers.length === 0) issues.add("spec.enforcers", "required: NotifyEnforcer acts on the calls listed in spec.enforcers");
  if (enforcers.length > 0) {
    issues.warn("spec.enforcers", "the hook that notifies is the enforcer here: NotifyEnforcer sends argSig from that hook (delivered on the way back to user space), whichever syscall it runs in");
  }
}

function checkName(name: string, issues: IssueList): void {
  const bytes = utf8Length(name);
  if (bytes > LIMITS.policyNameLength) {
    issues.add("metadata.name", `too long (${bytes} bytes, at most ${LIMITS.policyNameLength})`);
  }
  if (name.trim() === "") issues.add("metadata.name", "must not be blank");
  const bad = UNSHOWABLE_RE.exec(name);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).padStart(4, "0");
    issues.add("metadata.name", `${JSON.stringify(name)} cannot be shown (it contains U+${code}, a control or formatting character)`);
  }
}

/* Fields a macro appends to a selector, with the limit of the merged list. */
const MACRO_FIELDS = [
  ["matchPIDs", LIMITS.matchPIDsPerSelector], ["matchArgs", LIMITS.matchArgsPerSelector],
  ["matchReturnArgs", LIMITS.matchReturnArgsPerSelector], ["matchBinaries", LIMITS.matchBinariesPerSelector],
  ["matchNamespaces", LIMITS.matchNamespacesPerSelector], ["matchNamespaceChanges", LIMITS.matchNamespaceChangesPerSelector],
  ["matchCapabilities", LIMITS.matchCapabilitiesPerSelector], ["matchCapabilityChanges", LIMITS.matchCapabilityChangesPerSelector],
  ["matchActions", LIMITS.matchActionsPerSelector],
] as const;

/** A selector with the fields of its `macros` (spec.selectorsMacros) appended, as upstream does. */
function withMacros(sel: SelectorDoc, path: string, macros: PolicyDocument["spec"]["selectorsMacros"], issues: IssueList): SelectorDoc {
  if (!sel.macros?.length) return sel;
  const out: Record<string, unknown[]> = {};
  for (const [field] of MACRO_FIELDS) out[field] = [...(sel[field] ?? [])];
  sel.macros.forEach((name, i) => {
    const m = macros?.[name];
    if (!m) {
      issues.add(`${path}.macros[${i}]`, `no selector macro named ${describeValue(name)} in spec.selectorsMacros`);
      return;
    }
    if (m.macros?.length) issues.add(`${path}.macros[${i}]`, `selector macro ${describeValue(name)} uses macros itself, which is not supported`);
    for (const [field] of MACRO_FIELDS) out[field]!.push(...(m[field] ?? []));
  });
  for (const [field, max] of MACRO_FIELDS) {
    if (out[field]!.length > max) issues.add(`${path}.${field}`, `too many ${field} with the macros appended (${out[field]!.length}, at most ${max})`);
  }
  return { ...sel, ...(out as Partial<SelectorDoc>), macros: null };
}

function expandMacros<T extends { selectors?: SelectorDoc[] | null }>(hook: T, path: string, doc: PolicyDocument, issues: IssueList): T {
  if (!hook.selectors) return hook;
  return { ...hook, selectors: hook.selectors.map((s, i) => withMacros(s, `${path}.selectors[${i}]`, doc.spec.selectorsMacros, issues)) };
}

/** The document with every selector's macros expanded. */
function documentWithMacros(doc: PolicyDocument, issues: IssueList): PolicyDocument {
  const spec = doc.spec;
  const each = <T extends { selectors?: SelectorDoc[] | null }>(list: T[] | null | undefined, field: string) =>
    list?.map((h, i) => expandMacros(h, `spec.${field}[${i}]`, doc, issues));
  return {
    ...doc,
    spec: {
      ...spec, kprobes: each(spec.kprobes, "kprobes"), fentries: each(spec.fentries, "fentries"),
      tracepoints: each(spec.tracepoints, "tracepoints"), uprobes: each(spec.uprobes, "uprobes"),
      lsmhooks: each(spec.lsmhooks, "lsmhooks"), usdts: each(spec.usdts, "usdts"),
    },
  };
}

export function buildHooks(original: PolicyDocument, issues: IssueList): Hook[] {
  const doc = documentWithMacros(original, issues);
  const lists = checkLists(doc.spec.lists ?? [], issues);
  const kprobeDocs = [
    ...(doc.spec.kprobes ?? []).map((k, i) => [k, `spec.kprobes[${i}]`] as const),
    ...(doc.spec.fentries ?? []).map((k, i) => [k, `spec.fentries[${i}]`] as const),
  ];
  const kprobes = kprobeDocs.flatMap(([k, path]) =>
    expandCall(k, path, lists, issues).map((call) => buildKprobe({ ...k, call, syscall: k.syscall || call !== k.call }, path, lists, issues)));
  const tps = (doc.spec.tracepoints ?? []).map((t, i) => buildTracepoint(t, `spec.tracepoints[${i}]`, lists, issues));
  const ups = (doc.spec.uprobes ?? []).flatMap((u, i) => buildUprobes(u, `spec.uprobes[${i}]`, lists, issues));
  const lsms = (doc.spec.lsmhooks ?? []).map((l, i) => buildLsm(l, `spec.lsmhooks[${i}]`, lists, issues));
  const usdts = (doc.spec.usdts ?? []).map((u, i) => buildUsdt(u, `spec.usdts[${i}]`, lists, issues));
  const total = kprobes.length + tps.length + ups.length + lsms.length + usdts.length;
  if (total > LIMITS.hooksPerPolicy) {
    issues.add("spec", `too many hooks once lists and symbols are expanded (${total}, at most ${LIMITS.hooksPerPolicy})`);
  }
  return [...kprobes, ...tps, ...ups, ...lsms, ...usdts];
}

/** One hook per target: each symbol (`symbols`, or the older single
 * `symbol`), file offset (`offsets`) or virtual address (`addrs`), one kind
 * per entry as upstream; `refCtrOffsets`, when given, pairs one semaphore
 * offset with each target. */
function buildUprobes(doc: UprobeDoc, path: string, lists: HookView["lists"], issues: IssueList): UprobeHook[] {
  if (!doc.path.startsWith("/")) issues.add(`${path}.path`, `${describeValue(doc.path)} is not an absolute path`);
  const symbols = [...(doc.symbols ?? []), ...(doc.symbol ? [doc.symbol] : [])];
  const offsets = fileNumbers(doc.offsets, `${path}.offsets`, issues);
  const addrs = fileNumbers(doc.addrs, `${path}.addrs`, issues);
  const refs = fileNumbers(doc.refCtrOffsets, `${path}.refCtrOffsets`, issues);
  const kinds = [symbols.length, offsets.length, addrs.length].filter((n) => n > 0).length;
  if (kinds === 0) issues.add(`${path}.symbols`, "required field is missing (the functions to probe: symbols, offsets or addrs)");
  if (kinds > 1) issues.add(path, "only one of symbols, offsets or addrs per entry");
  const count = Math.max(symbols.length, offsets.length, addrs.length);
  if (refs.length > 0 && refs.length !== count) {
    issues.add(`${path}.refCtrOffsets`, `${refs.length} values for ${count} probes (one per symbol, offset or address)`);
  }
  if (doc.btfPath) issues.warn(`${path}.btfPath`, "ignored: arguments are read by position, not through BTF");
  const args = buildArgs(doc.args ?? [], path, "uprobe", issues);
  const view: HookView = { kind: "uprobe", args, returnType: null, returnIndex: 0, lists };
  const selectors = buildSelectors(doc.selectors ?? [], `${path}.selectors`, view, issues);
  return Array.from({ length: count }, (_, i) => ({
    kind: "uprobe" as const, path, binary: doc.path, symbol: symbols[i] ?? "", offset: offsets[i] ?? 0n,
    address: addrs[i] ?? null, refCtrOffset: refs[i] ?? 0n, args, selectors, ...hookReport(doc),
  }));
}

/** Offsets and addresses in a file: unsigned 64-bit integers. */
function fileNumbers(raw: readonly ScalarValue[] | null | undefined, path: string, issues: IssueList): bigint[] {
  return (raw ?? []).map((r, i) => {
    const n = parseInteger(r);
    if (n === null || n < 0n || n >= 2n ** 64n) {
      issues.add(`${path}[${i}]`, `${describeValue(r)} is not an offset or address (an unsigned 64-bit integer, decimal or 0x-hex)`);
      return 0n;
    }
    return n;
  });
}

/** spec.lists by name; only lists of syscall names are supported. */
function checkLists(docs: readonly ListDoc[], issues: IssueList): Map<string, readonly string[]> {
  const lists = new Map<string, readonly string[]>();
  docs.forEach((l, i) => {
    const path = `spec.lists[${i}]`;
    if (lists.has(l.name)) issues.add(`${path}.name`, `duplicate list name ${describeValue(l.name)}`);
    const type = l.type ?? "syscalls";
    if (type !== "syscalls") {
      issues.add(`${path}.type`, `${type} is not supported yet: it expands to every syscall or traced function, more hooks than a policy holds here (${LIMITS.hooksPerPolicy}); list the calls with type: syscalls`);
    }
    if (l.pattern) issues.warn(`${path}.pattern`, "ignored: only generated_ftrace lists use a pattern");
    if (!l.values || l.values.length === 0) issues.add(`${path}.values`, "must not be empty");
    lists.set(l.name, l.values ?? []);
  });
  return lists;
}

/** `call: "list:NAME"` is one hook per value of the list. */
function expandCall(doc: KprobeDoc, path: string, lists: ReadonlyMap<string, readonly string[]>, issues: IssueList): string[] {
  if (!doc.call.startsWith("list:")) return [doc.call];
  const name = doc.call.slice("list:".length);
  const values = lists.get(name);
  if (!values) {
    const known = [...lists.keys()].join(", ") || "none";
    issues.add(`${path}.call`, `no list named ${describeValue(name)} in spec.lists (lists: ${known})`);
    return [];
  }
  return [...values];
}

function buildKprobe(doc: KprobeDoc, path: string, lists: HookView["lists"], issues: IssueList): KprobeHook {
  if (!CALL_RE.test(doc.call)) issues.add(`${path}.call`, `${describeValue(doc.call)} is not a kernel function name`);
  const args = buildArgs(doc.args ?? [], path, "kprobe", issues);
  const ret = doc.return ?? false;
  const returnArg = buildReturnArg(doc, path, issues);
  const view: HookView = { kind: "kprobe", args, returnType: returnArg?.type ?? null, returnIndex: returnArg?.index ?? 0, lists };
  const selectors = buildSelectors(doc.selectors ?? [], `${path}.selectors`, view, issues);
  if (doc.ignore?.callNotFound) issues.warn(`${path}.ignore.callNotFound`, "ignored: a call that does not exist is refused here, naming it");
  if (doc.returnArgAction && doc.returnArgAction !== "Post") {
    issues.warn(`${path}.returnArgAction`, `ignored: ${doc.returnArgAction} tracks sockets for upstream's packet events; here every event carries the task that runs the hook`);
  }
  return {
    kind: "kprobe", path, call: doc.call, syscall: doc.syscall ?? false, return: ret, args, returnArg, selectors,
    ...hookReport(doc),
  };
}

function hookReport(doc: { message?: string | null; tags?: readonly string[] | null }): { message: string; tags: string[] } {
  return { message: doc.message ?? "", tags: [...(doc.tags ?? [])] };
}

function buildReturnArg(doc: KprobeDoc, path: string, issues: IssueList): KprobeHook["returnArg"] {
  if (doc.return === true && !doc.returnArg) {
    issues.add(`${path}.returnArg`, "required when return is true");
    return null;
  }
  if (!doc.returnArg) return null;
  if (doc.return !== true) {
    issues.add(`${path}.returnArg`, "set but return is not true");
    return null;
  }
  const type = normalizeArgType(doc.returnArg.type);
  if (SIZED_BUFFER_TYPES.has(type)) {
    issues.add(`${path}.returnArg.type`, `${type} cannot be a return value (it needs a size)`);
  }
  return { index: doc.returnArg.index ?? 0, type };
}

const LSM_HOOK_RE = /^[a-z0-9_]+$/;
const USDT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** spec.usdts: arguments are the probe's, by position (user memory). */
function buildUsdt(doc: UsdtDoc, path: string, lists: HookView["lists"], issues: IssueList): UsdtHook {
  if (!doc.path.startsWith("/")) issues.add(`${path}.path`, `${describeValue(doc.path)} is not an absolute path`);
  for (const field of ["provider", "name"] as const) {
    if (!USDT_NAME_RE.test(doc[field])) issues.add(`${path}.${field}`, `${describeValue(doc[field])} is not a USDT ${field}`);
  }
  const args = buildArgs(doc.args ?? [], path, "uprobe", issues);
  const view: HookView = { kind: "uprobe", args, returnType: null, returnIndex: 0, lists };
  const selectors = buildSelectors(doc.selectors ?? [], `${path}.selectors`, view, issues);
  return { kind: "usdt", path, binary: doc.path, provider: doc.provider, name: doc.name, args, selectors, ...hookReport(doc) };
}

function buildLsm(doc: LsmHookDoc, path: string, lists: HookView["lists"], issues: IssueList): LsmHook {
  if (!LSM_HOOK_RE.test(doc.hook)) issues.add(`${path}.hook`, `${describeValue(doc.hook)} is not an LSM hook name (e.g. file_open, bprm_check_security)`);
  const args = buildArgs(doc.args ?? [], path, "lsm", issues);
  const view: HookView = { kind: "lsm", args, returnType: null, returnIndex: 0, lists };
  const selectors = buildSelectors(doc.selectors ?? [], `${path}.selectors`, view, issues);
  return { kind: "lsm", path, hook: doc.hook, args, selectors, ...hookReport(doc) };
}

function buildTracepoint(doc: TracepointDoc, path: string, lists: HookView["lists"], issues: IssueList): TracepointHook {
  if (!TRACEPOINT_RE.test(doc.subsystem)) issues.add(`${path}.subsystem`, `${describeValue(doc.subsystem)} is not a tracepoint subsystem name`);
  if (!TRACEPOINT_RE.test(doc.event)) issues.add(`${path}.event`, `${describeValue(doc.event)} is not a tracepoint event name`);
  /* a raw tracepoint's arguments are pointers and values by position, like a uprobe's */
  const args = buildArgs(doc.args ?? [], path, doc.raw ? "uprobe" : "tracepoint", issues);
  const view: HookView = { kind: "tracepoint", args, returnType: null, returnIndex: 0, lists };
  const selectors = buildSelectors(doc.selectors ?? [], `${path}.selectors`, view, issues);
  return { kind: "tracepoint", path, subsystem: doc.subsystem, event: doc.event, raw: doc.raw ?? false, args, selectors, ...hookReport(doc) };
}

function buildArgs(docs: readonly ArgDoc[], hookPath: string, kind: HookView["kind"], issues: IssueList): PolicyArg[] {
  return docs.map((a, i) => buildArg(a, `${hookPath}.args[${i}]`, kind, issues));
}

function buildArg(doc: ArgDoc, path: string, kind: HookView["kind"], issues: IssueList): PolicyArg {
  const type = normalizeArgType(doc.type);
  const sizeArgIndex = doc.sizeArgIndex ?? 0;
  const returnCopy = doc.returnCopy ?? false;
  if (kind !== "tracepoint" && doc.index > LIMITS.kprobeArgIndexMax) {
    issues.add(`${path}.index`, `must be an integer from 0 to ${LIMITS.kprobeArgIndexMax}, got ${doc.index}`);
  }
  checkBufferOptions(type, sizeArgIndex, returnCopy, kind, path, issues);
  const unsupported = UNSUPPORTED_TYPES[type];
  if (unsupported) issues.add(`${path}.type`, `${type}: ${unsupported}`);
  if (kind === "tracepoint" && STRUCT_TYPES.has(type)) issues.add(`${path}.type`, `${type} is a kernel-struct pointer: it applies to kprobe arguments, not tracepoint fields`);
  if (doc.maxData) issues.warn(`${path}.maxData`, `ignored: buffers are captured up to ${LIMITS.capturedBytes} bytes here (truncated_bytes_arg past that)`);
  return { index: doc.index, type, sizeArgIndex, returnCopy, label: doc.label ?? "" };
}

function checkBufferOptions(type: ArgType, size: number, returnCopy: boolean, kind: HookView["kind"], path: string, issues: IssueList): void {
  const sized = SIZED_BUFFER_TYPES.has(type);
  if (size > 0 && !sized) issues.add(`${path}.sizeArgIndex`, `only char_buf and char_iovec take a size (type is ${type})`);
  if (returnCopy && !sized) issues.add(`${path}.returnCopy`, `only char_buf and char_iovec can be copied at return (type is ${type})`);
  if (returnCopy && kind !== "kprobe") issues.add(`${path}.returnCopy`, `${kind}s have no return here`);
  if (type === "char_iovec" && size === 0) issues.add(path, "char_iovec needs sizeArgIndex (the argument holding the iovec count)");
  /* tracepoint arrays and __data_loc fields carry their own size (checked at attach) */
  if (type === "char_buf" && size === 0 && !returnCopy && kind !== "tracepoint") {
    issues.add(path, "char_buf needs sizeArgIndex, or returnCopy to use the return value as the size");
  }
}

function buildSelectors(docs: readonly SelectorDoc[], path: string, view: HookView, issues: IssueList): Selector[] {
  return docs.map((s, i) => buildSelector(s, `${path}[${i}]`, view, issues));
}

function buildSelector(doc: SelectorDoc, path: string, view: HookView, issues: IssueList): Selector {
  const each = <D, M>(list: readonly D[] | null | undefined, field: string, fn: (d: D, p: string) => M): M[] =>
    (list ?? []).map((d, i) => fn(d, `${path}.${field}[${i}]`));
  const actions = each(doc.matchActions, "matchActions", (d, p) => buildAction(d, p, view, issues));
  return {
    matchPIDs: each(doc.matchPIDs, "matchPIDs", (d, p) => buildPids(d, p, issues)),
    matchArgs: each(doc.matchArgs, "matchArgs", (d, p) => buildArgMatcher(d, p, view, issues)),
    matchReturnArgs: buildReturnMatchers(doc, path, view, issues),
    matchBinaries: each(doc.matchBinaries, "matchBinaries", (d, p) => buildBinaries(d, p, issues)),
    matchNamespaces: each(doc.matchNamespaces, "matchNamespaces", (d, p) => buildNamespaces(d, p, issues)),
    matchNamespaceChanges: each(doc.matchNamespaceChanges, "matchNamespaceChanges", (d, p) => buildNsChanges(d, p, issues)),
    matchCapabilities: each(doc.matchCapabilities, "matchCapabilities", (d, p) => buildCaps(d, p, issues)),
    matchCapabilityChanges: each(doc.matchCapabilityChanges, "matchCapabilityChanges", (d, p) => buildCaps(d, p, issues)),
    matchActions: actions.length > 0 ? actions : [{ action: "Post" }],
  };
}

function nonEmpty(values: readonly ScalarValue[], path: string, issues: IssueList): void {
  if (values.length === 0) issues.add(`${path}.values`, "must not be empty");
}

function buildPids(doc: NonNullable<SelectorDoc["matchPIDs"]>[number], path: string, issues: IssueList): PidMatcher {
  nonEmpty(doc.values, path, issues);
  const values = doc.values.map((raw, i) => {
    const pid = parsePid(raw);
    if (pid === null) issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not a pid`);
    return pid ?? 0;
  });
  /* followForks with isNamespacePID: each ancestor's pid in its own namespace */
  const followForks = doc.followForks ?? false;
  const isNamespacePID = doc.isNamespacePID ?? false;
  return { operator: doc.operator, values, followForks, isNamespacePID };
}

function buildReturnMatchers(doc: SelectorDoc, path: string, view: HookView, issues: IssueList): ArgMatcher[] {
  const list = doc.matchReturnArgs ?? [];
  if (list.length === 0) return [];
  if (view.returnType === null) {
    const hint = view.kind === "kprobe" ? " (set return: true and returnArg)" : "";
    issues.add(`${path}.matchReturnArgs`, `the hook has no return value${hint}`);
    return [];
  }
  const returnType = view.returnType;
  return list.map((m, i) => {
    const p = `${path}.matchReturnArgs[${i}]`;
    if (m.index !== view.returnIndex) issues.add(`${p}.index`, `must be ${view.returnIndex} (the return value)`);
    return buildMatcherValues(m, p, returnType, `the return value`, view.lists, issues);
  });
}

function buildArgMatcher(doc: ArgMatchDoc, path: string, view: HookView, issues: IssueList): ArgMatcher {
  const arg = view.args.find((a) => a.index === doc.index);
  if (!arg) {
    const declared = view.args.map((a) => a.index).join(", ") || "none";
    issues.add(`${path}.index`, `${doc.index} is not a declared argument (declared: ${declared})`);
    return { kind: "int", index: doc.index, operator: "Equal", values: [] };
  }
  if (arg.returnCopy) {
    issues.add(`${path}.index`, `argument ${doc.index} is copied at return (returnCopy) and cannot be matched`);
  }
  return buildMatcherValues(doc, path, arg.type, `argument ${doc.index}`, view.lists, issues);
}

function buildMatcherValues(doc: ArgMatchDoc, path: string, type: ArgType, what: string, lists: HookView["lists"], issues: IssueList): ArgMatcher {
  if (UNSUPPORTED_OPERATORS.has(doc.operator)) {
    issues.add(`${path}.operator`, `${doc.operator} is not yet supported here (refused rather than ignored, so the selector never matches more than it says)`);
    return { kind: "int", index: doc.index, operator: "Equal", values: [] };
  }
  const net = NET_OPERATORS[doc.operator];
  if (net) return buildNetMatcher(doc, net, path, type, what, issues);
  if (NET_TYPES.has(type)) {
    issues.add(`${path}.operator`, `${doc.operator} does not apply to ${what} of type ${type} (expected a socket operator: ${Object.keys(NET_OPERATORS).join(", ")})`);
    return { kind: "int", index: doc.index, operator: "Equal", values: [] };
  }
  if (doc.operator === "FileType" || doc.operator === "NotFileType") return buildFileType(doc, path, type, what, issues);
  const operator = normalizeArgOperator(doc.operator as Parameters<typeof normalizeArgOperator>[0]);
  nonEmpty(doc.values, path, issues);
  if (INT_TYPES.has(type)) {
    checkOperator(operator, INT_OPERATORS, type, what, path, issues);
    const values = expandSyscallLists(doc.values, lists, `${path}.values`, issues);
    const op = mapRanges(doc.operator, values) ?? operator;
    return { kind: "int", index: doc.index, operator: op, values: intValues({ ...doc, values }, op, type, path, issues) };
  }
  if (TEXT_TYPES.has(type)) {
    checkOperator(operator, TEXT_OPERATORS, type, what, path, issues);
    return { kind: "text", index: doc.index, operator, values: textValues(doc.values, path, issues) };
  }
  issues.add(`${path}.index`, `${what} is of type ${type}, which cannot be matched`);
  return { kind: "int", index: doc.index, operator, values: [] };
}

function buildNetMatcher(doc: ArgMatchDoc, op: NetOperator, path: string, type: ArgType, what: string, issues: IssueList): ArgMatcher {
  const base = { kind: "net" as const, index: doc.index, field: op.field, negate: op.negate, values: [] as number[], ranges: [] as (readonly [number, number])[], cidrs: [] as Cidr[] };
  if (!NET_TYPES.has(type)) {
    issues.add(`${path}.operator`, `${doc.operator} applies to sock, socket, skb and sockaddr arguments; ${what} is of type ${type}`);
    return base;
  }
  const why = netFieldApplies(type, op.field);
  if (why) issues.add(`${path}.operator`, `${doc.operator} on ${what}: ${why}`);
  if (op.privileged) {
    if (doc.values.length > 0) issues.warn(`${path}.values`, `ignored: ${doc.operator} always means ports 0..1023`);
    return { ...base, ranges: [[0, 1023]] };
  }
  nonEmpty(doc.values, path, issues);
  const limit = op.field === "saddr" || op.field === "daddr" ? LIMITS.stringValuesPerMatcher : LIMITS.numericValuesPerMatcher;
  if (doc.values.length > limit) issues.add(`${path}.values`, `too many values (${doc.values.length}, at most ${limit})`);
  const bad = (i: number, raw: ScalarValue, msg: string) => issues.add(`${path}.values[${i}]`, `${describeValue(raw)} ${msg}`);
  doc.values.forEach((raw, i) => {
    if (op.field === "saddr" || op.field === "daddr") {
      const c = parseCidr(String(raw));
      if (typeof c === "string") bad(i, raw, c);
      else base.cidrs.push(c);
    } else if (op.field === "sport" || op.field === "dport") {
      const r = parsePortRange(raw);
      if (typeof r === "string") bad(i, raw, r);
      else base.ranges.push(r);
    } else {
      const n = parseNamedValue(op.field, raw);
      if (typeof n === "string") bad(i, raw, n);
      else base.values.push(n);
    }
  });
  return base;
}

/** S_IFMT values by upstream's FileType names. */
const FILE_TYPES: Readonly<Record<string, number>> = {
  reg: 0o100000, dir: 0o040000, lnk: 0o120000, sock: 0o140000, chr: 0o020000, blk: 0o060000, fifo: 0o010000,
};

/** FileType / NotFileType on file and path arguments: the inode's type, compared in the kernel. */
function buildFileType(doc: ArgMatchDoc, path: string, type: ArgType, what: string, issues: IssueList): ArgMatcher {
  const operator = doc.operator === "FileType" ? "FileType" : "NotFileType";
  if (type !== "file" && type !== "path" && type !== "dentry") issues.add(`${path}.operator`, `${operator} applies to file, path and dentry arguments; ${what} is of type ${type}`);
  nonEmpty(doc.values, path, issues);
  if (doc.values.length > LIMITS.numericValuesPerMatcher) issues.add(`${path}.values`, `too many values (${doc.values.length}, at most ${LIMITS.numericValuesPerMatcher})`);
  const values = doc.values.map((raw, i) => {
    const mode = FILE_TYPES[String(raw).trim().toLowerCase()];
    if (mode === undefined) issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not a file type (expected one of ${Object.keys(FILE_TYPES).join(", ")})`);
    return BigInt(mode ?? 0);
  });
  return { kind: "int", index: doc.index, operator, values };
}

function checkOperator(op: string, allowed: ReadonlySet<string>, type: ArgType, what: string, path: string, issues: IssueList): void {
  if (!allowed.has(op)) {
    issues.add(`${path}.operator`, `${op} does not apply to ${what} of type ${type} (expected one of ${[...allowed].join(", ")})`);
  }
}

/** "list:NAME" among integer values: the numbers of the list's syscalls. */
function expandSyscallLists(values: readonly ScalarValue[], lists: HookView["lists"], path: string, issues: IssueList): ScalarValue[] {
  if (!values.some((v) => typeof v === "string" && v.startsWith("list:"))) return [...values];
  const table = syscallNumbers();
  return values.flatMap((v, i) => {
    if (typeof v !== "string" || !v.startsWith("list:")) return [v];
    const names = lists.get(v.slice("list:".length));
    if (!names) {
      issues.add(`${path}[${i}]`, `no list named ${describeValue(v.slice("list:".length))} in spec.lists`);
      return [];
    }
    if (table instanceof Error) {
      issues.add(`${path}[${i}]`, table.message);
      return [];
    }
    return names.map((n) => {
      const nr = table.get(syscallBaseName(n, true) ?? n);
      if (nr === undefined) issues.add(`${path}[${i}]`, `${describeValue(n)} of list ${describeValue(v)} is not a syscall of this architecture`);
      return nr ?? 0;
    });
  });
}

/** InMap / NotInMap with upstream's "a:b" ranges among the values: InRange / NotInRange. */
function mapRanges(spelling: string, values: readonly ScalarValue[]): "InRange" | "NotInRange" | null {
  if (spelling !== "InMap" && spelling !== "NotInMap") return null;
  if (!values.some((v) => typeof v === "string" && v.includes(":"))) return null;
  return spelling === "InMap" ? "InRange" : "NotInRange";
}

/** InRange / NotInRange: "lo:hi" (inclusive) or one number, as [lo, hi] pairs. */
function rangeValues(doc: ArgMatchDoc, type: ArgType, path: string, issues: IssueList): bigint[] {
  const max = LIMITS.numericValuesPerMatcher / 2;
  if (doc.values.length > max) issues.add(`${path}.values`, `too many ranges (${doc.values.length}, at most ${max})`);
  const [lo, hi] = intRange(type);
  return doc.values.flatMap((raw, i) => {
    const parts = String(raw).split(":");
    const ends = parts.map((p) => parseInteger(p));
    const a = ends[0] ?? null;
    const b = ends[parts.length - 1] ?? null;
    if (parts.length > 2 || a === null || b === null || a > b || a < lo || b > hi) {
      issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not a range lo:hi of ${type} with lo <= hi`);
      return [0n, 0n];
    }
    return [a, b];
  });
}

function intValues(doc: ArgMatchDoc, op: string, type: ArgType, path: string, issues: IssueList): bigint[] {
  if (op === "InRange" || op === "NotInRange") return rangeValues(doc, type, path, issues);
  if ((op === "GT" || op === "LT") && doc.values.length > 1) {
    issues.add(`${path}.values`, `${op} takes exactly one value, got ${doc.values.length}`);
  }
  if (doc.values.length > LIMITS.numericValuesPerMatcher) {
    issues.add(`${path}.values`, `too many values (${doc.values.length}, at most ${LIMITS.numericValuesPerMatcher} for integers)`);
  }
  const [lo, hi] = intRange(op === "Mask" ? "uint64" : type);
  return doc.values.map((raw, i) => {
    const cap = type === "capability" && typeof raw === "string" ? CAPABILITIES[raw.trim().toUpperCase()] : undefined;
    const value = cap !== undefined ? BigInt(cap) : parseInteger(raw);
    if (value === null) issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not a number (decimal or 0x-hex)`);
    else if (value < lo || value > hi) issues.add(`${path}.values[${i}]`, `${raw} is out of range for ${type} (${lo} to ${hi})`);
    return value ?? 0n;
  });
}

/** The original compared strings with their terminating NUL, so its policies
 * write "/etc/passwd\0": trailing NULs are dropped, the value means the same. */
function withoutTrailingNul(raw: ScalarValue, path: string, issues: IssueList): string {
  const text = String(raw).replace(/\0+$/, "");
  if (text.includes("\0")) issues.warn(path, `${JSON.stringify(text)} contains a NUL byte before its end and can never match`);
  return text;
}

function textValues(values: readonly ScalarValue[], path: string, issues: IssueList): string[] {
  return values.map((raw, i) => {
    const text = withoutTrailingNul(raw, `${path}.values[${i}]`, issues);
    const bytes = utf8Length(text);
    if (bytes === 0) issues.add(`${path}.values[${i}]`, "must not be empty");
    if (bytes > LIMITS.stringValueLength) {
      issues.add(`${path}.values[${i}]`, `too long (${bytes} bytes, at most ${LIMITS.stringValueLength})`);
    }
    return text;
  });
}

function buildBinaries(doc: NonNullable<SelectorDoc["matchBinaries"]>[number], path: string, issues: IssueList): BinariesMatcher {
  nonEmpty(doc.values, path, issues);
  if (doc.followChildren) issues.add(`${path}.followChildren`, "not yet supported here (use matchPIDs followForks, or the binary's path)");
  const fix = doc.operator !== "In" && doc.operator !== "NotIn";
  const values = doc.values.map((raw, i) => {
    const text = withoutTrailingNul(raw, `${path}.values[${i}]`, issues);
    if (!fix && !text.startsWith("/")) issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not an absolute path`);
    if (fix && text === "") issues.add(`${path}.values[${i}]`, "must not be empty");
    const bytes = utf8Length(text);
    if (bytes > LIMITS.binaryPathLength) {
      issues.add(`${path}.values[${i}]`, `too long (${bytes} bytes, at most ${LIMITS.binaryPathLength})`);
    }
    return text;
  });
  return { operator: doc.operator, values };
}

function buildNamespaces(doc: NonNullable<SelectorDoc["matchNamespaces"]>[number], path: string, issues: IssueList): NamespaceMatcher {
  nonEmpty(doc.values, path, issues);
  const values = doc.values.map((raw, i) => {
    const v = parseNamespaceValue(raw);
    if (v === null) issues.add(`${path}.values[${i}]`, `${describeValue(raw)} is not a namespace inode number or host_ns`);
    return v ?? 0;
  });
  return { namespace: doc.namespace, operator: doc.operator, values };
}

function buildNsChanges(doc: NonNullable<SelectorDoc["matchNamespaceChanges"]>[number], path: string, issues: IssueList): NamespaceChangesMatcher {
  nonEmpty(doc.values, path, issues);
  const values: NamespaceType[] = [];
  doc.values.forEach((raw, i) => {
    const ns = parseNamespaceType(raw);
    if (ns === null) issues.add(`${path}.values[${i}]`, `unknown namespace ${describeValue(raw)} (expected one of Uts, Ipc, Mnt, Pid, PidForChildren, Net, Time, TimeForChildren, Cgroup, User)`);
    else values.push(ns);
  });
  return { operator: doc.operator, values };
}

function buildCaps(doc: CapabilitiesDoc, path: string, issues: IssueList): CapabilitiesMatcher {
  nonEmpty(doc.values, path, issues);
  const values: number[] = [];
  doc.values.forEach((raw, i) => {
    const cap = parseCapability(raw);
    if (cap === null) issues.add(`${path}.values[${i}]`, `unknown capability ${describeValue(raw)} (expected a name such as CAP_SYS_ADMIN)`);
    else values.push(cap);
  });
  return { type: doc.type ?? "Effective", operator: doc.operator, isNamespaceCapability: doc.isNamespaceCapability ?? false, values };
}

function buildAction(doc: ActionDoc, path: string, view: HookView, issues: IssueList): PolicyAction {
  warnUnusedActionFields(doc, path, issues);
  if (doc.action !== "Post" && (doc.rateLimit !== undefined && doc.rateLimit !== null)) {
    issues.warn(`${path}.rateLimit`, `ignored: only Post is rate limited (the action is ${doc.action})`);
  }
  switch (doc.action) {
    case "Post":
      return buildPost(doc, path, issues);
    case "Sigkill":
    case "NoPost":
      return { action: doc.action };
    case "GetUrl":
      return { action: "GetUrl", url: checkUrl(doc.argUrl, `${path}.argUrl`, issues) };
    case "Signal":
      if (!doc.argSig) issues.add(`${path}.argSig`, "required for Signal (a signal number such as 15)");
      return { action: "Signal", sig: doc.argSig ?? 0 };
    case "NotifyEnforcer":
      return buildNotifyEnforcer(doc, path, issues);
    case "TrackSock":
    case "UntrackSock":
      issues.warn(`${path}.action`, `ignored: ${doc.action} lets upstream attribute later packet events to the socket's owner; here every event carries the task that runs the hook, so there is nothing to track (the selector still posts)`);
      return { action: "Post" };
    case "CleanupEnforcerNotification":
      issues.warn(`${path}.action`, "ignored: NotifyEnforcer acts from its hook here, so no notification is left to clean up (the selector still posts)");
      return { action: "Post" };
    case "Set":
      issues.add(`${path}.action`, "Set is not yet supported here");
      return { action: "Post" };
    case "DnsLookup":
      if (!doc.argFqdn) issues.add(`${path}.argFqdn`, "required for DnsLookup (the name to resolve)");
      return { action: "DnsLookup", fqdn: doc.argFqdn ?? "" };
    case "Override":
      return buildOverride(doc, path, view, issues);
    case "UnfollowFD":
      return { action: "UnfollowFD", argFd: fdArg(doc.argFd, `${path}.argFd`, view, issues) };
    case "FollowFD":
    case "CopyFD":
      return buildFdAction(doc, doc.action, path, view, issues);
  }
}

const ACTION_FIELDS: Readonly<Record<ActionDoc["action"], readonly string[]>> = {
  Post: [], Sigkill: [], NoPost: [], Override: ["argError"], GetUrl: ["argUrl"], DnsLookup: ["argFqdn"], Signal: ["argSig"], UnfollowFD: ["argFd"],
  FollowFD: ["argFd", "argName"], CopyFD: ["argFd", "argName"],
  NotifyEnforcer: ["argSig", "argError"], TrackSock: ["argSock"], UntrackSock: ["argSock"], CleanupEnforcerNotification: [], Set: [],
};

/** NotifyEnforcer: upstream's enforcer program makes the enforced syscall
 * return argError and/or sends argSig. Here the hook sends argSig itself (the
 * signal is delivered on the way back to user space); a return value cannot be
 * imposed without that program, so argError is refused unless the signal is
 * SIGKILL (the process then never sees the value). */
function buildNotifyEnforcer(doc: ActionDoc, path: string, issues: IssueList): PolicyAction {
  const sig = doc.argSig ?? 0;
  const hasError = doc.argError !== undefined && doc.argError !== null;
  if (!sig) {
    issues.add(`${path}.argSig`, hasError
      ? "NotifyEnforcer with argError alone is not yet supported here (the enforced syscall's return value cannot be overridden without upstream's enforcer program); add argSig, e.g. 9"
      : "required for NotifyEnforcer here (the signal the enforcer sends, e.g. 9)");
  } else if (hasError && sig !== 9) {
    issues.add(`${path}.argError`, `not yet supported with argSig ${sig}: the enforced syscall's return value cannot be overridden here (with argSig 9 the process is killed and never sees it)`);
  } else if (hasError) {
    issues.warn(`${path}.argError`, "ignored: the process is killed (argSig 9) before it could see the return value");
  }
  return { action: "NotifyEnforcer", sig };
}

function checkUrl(raw: string | null | undefined, path: string, issues: IssueList): string {
  if (!raw) {
    issues.add(path, "required for GetUrl (an http or https URL)");
    return "";
  }
  if (!URL.canParse(raw) || !["http:", "https:"].includes(new URL(raw).protocol)) {
    issues.add(path, `${describeValue(raw)} is not an http or https URL`);
  }
  return raw;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function buildPost(doc: ActionDoc, path: string, issues: IssueList): PolicyAction {
  if (doc.rateLimit === undefined || doc.rateLimit === null) return { action: "Post" };
  const m = DURATION_RE.exec(String(doc.rateLimit).trim());
  const intervalMs = m ? Number(m[1]) * UNIT_MS[m[2] ?? "s"]! : 0;
  if (!m || intervalMs < 1 || intervalMs > 24 * UNIT_MS["h"]!) {
    issues.add(`${path}.rateLimit`, `${describeValue(doc.rateLimit)} is not a duration from 1ms to 24h (e.g. 10s, 5m, 1h; a bare number is seconds)`);
  }
  return { action: "Post", rateLimit: { intervalMs, scope: doc.rateLimitScope ?? "thread" } };
}

/* The original ignored fields an action does not read; so do we, with a warning. */
function warnUnusedActionFields(doc: ActionDoc, path: string, issues: IssueList): void {
  for (const field of ["argFd", "argName", "argError", "argUrl", "argFqdn", "argSig", "argSock"] as const) {
    if (doc[field] !== undefined && doc[field] !== null && !ACTION_FIELDS[doc.action].includes(field)) {
      issues.warn(`${path}.${field}`, `ignored: ${doc.action} does not use ${field}`);
    }
  }
  for (const field of ["kernelStackTrace", "userStackTrace", "imaHash"] as const) {
    if (doc[field]) issues.warn(`${path}.${field}`, "ignored: events here carry no stack traces or IMA hashes");
  }
}

/** Any int32 argError, as the original: the call returns it without running. */
function buildOverride(doc: ActionDoc, path: string, view: HookView, issues: IssueList): PolicyAction {
  if (view.kind !== "kprobe" && view.kind !== "lsm") issues.add(`${path}.action`, "Override is only available on kprobes and LSM hooks");
  if (view.kind === "lsm" && (doc.argError === undefined || doc.argError === null || doc.argError >= 0 || doc.argError < -4095)) {
    issues.add(`${path}.argError`, "an LSM hook's verdict is a negative errno (-4095..-1), e.g. -1 (EPERM)");
  }
  const argError = doc.argError ?? 0;
  if (argError >= 0) {
    issues.warn(`${path}.argError`, `${doc.argError ?? "missing"}: the call returns ${argError} (not an error) without running`);
  }
  return { action: "Override", argError };
}

/** FollowFD/CopyFD: the new fd is the return value when the hook returns an fd. */
function buildFdAction(doc: ActionDoc, action: "FollowFD" | "CopyFD", path: string, view: HookView, issues: IssueList): PolicyAction {
  const fdFromReturn = view.returnType === "fd";
  if (action === "FollowFD") {
    const argName = nameArg(doc.argName, `${path}.argName`, view, issues);
    const argFd = fdFromReturn ? -1 : fdArg(doc.argFd, `${path}.argFd`, view, issues);
    return { action, argFd, argName, fdFromReturn };
  }
  const argFd = fdArg(doc.argFd, `${path}.argFd`, view, issues);
  const argName = fdFromReturn ? -1 : fdArg(doc.argName, `${path}.argName`, view, issues);
  return { action, argFd, argName, fdFromReturn };
}

function declaredArg(index: number | null | undefined, path: string, view: HookView, issues: IssueList): PolicyArg | null {
  if (index === undefined || index === null) {
    issues.add(path, "required field is missing");
    return null;
  }
  const arg = view.args.find((a) => a.index === index);
  if (!arg) {
    const declared = view.args.map((a) => a.index).join(", ") || "none";
    issues.add(path, `${index} is not a declared argument (declared: ${declared})`);
  }
  return arg ?? null;
}

function fdArg(index: number | null | undefined, path: string, view: HookView, issues: IssueList): number {
  const arg = declaredArg(index, path, view, issues);
  if (arg && !FD_TYPES.has(arg.type)) {
    issues.add(path, `argument ${arg.index} is of type ${arg.type}, expected an fd (fd or int)`);
  }
  return arg?.index ?? -1;
}

function nameArg(index: number | null | undefined, path: string, view: HookView, issues: IssueList): number {
  const arg = declaredArg(index, path, view, issues);
  if (arg && !NAME_TYPES.has(arg.type)) {
    issues.add(path, `argument ${arg.index} is of type ${arg.type}, expected a name (string, filename, file, path or char_buf)`);
  }
  return arg?.index ?? -1;
}
