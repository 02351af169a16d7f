/** valibot schema of a TracingPolicy document as users write it (before
 * normalization). Every object is strict: unknown fields are errors. Messages
 * are the reason part of "<field path>: <reason>". */
import * as v from "valibot";
import {
  ACTIONS, ARG_OPERATORS, ARG_TYPES, BINARY_OPERATORS, CAP_SET_TYPES, KINDS, NAMESPACES, SET_OPERATORS,
} from "../model/names";
import { LIMITS } from "./limits";

type Issue = v.BaseIssue<unknown>;

export function describeValue(x: unknown): string {
  if (x === undefined) return "nothing";
  if (x === null) return "null";
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return "a list";
  if (typeof x === "object") return "a mapping";
  return String(x);
}

function isMissingKey(issue: Issue): boolean {
  const last = issue.path?.[issue.path.length - 1];
  return issue.input === undefined && last !== undefined && last.origin === "key";
}

function strictObj<E extends v.ObjectEntries>(entries: E) {
  const keys = Object.keys(entries).join(", ");
  const message = (issue: Issue): string => {
    if (issue.expected === "never") return `unknown field (expected one of ${keys})`;
    if (isMissingKey(issue)) return "required field is missing";
    return `expected a mapping, got ${describeValue(issue.input)}`;
  };
  /* valibot takes a list for an object; YAML users mean different things by them */
  const notList = v.custom<Record<string, unknown>>((x) => !Array.isArray(x), message);
  return v.pipe(notList, v.strictObject(entries, message));
}

const typeMessage = (what: string) => (issue: Issue): string =>
  isMissingKey(issue) ? "required field is missing" : `expected ${what}, got ${describeValue(issue.input)}`;

const str = (maxLength: number) =>
  v.pipe(
    v.string(typeMessage("a string")),
    v.minLength(1, "must not be empty"),
    v.maxLength(maxLength, (i: Issue) => `too long (${String(i.received)} characters, at most ${maxLength})`),
  );

const bool = () => v.boolean(typeMessage("true or false"));

const int = (min: number, max: number) => {
  const range = (i: Issue) => `must be an integer from ${min} to ${max}, got ${describeValue(i.input)}`;
  return v.pipe(v.number(typeMessage("an integer")), v.integer(range), v.minValue(min, range), v.maxValue(max, range));
};

const choice = <T extends readonly string[]>(word: string, options: T) =>
  v.picklist(options, (i: Issue) =>
    isMissingKey(i) ? "required field is missing" : `unknown ${word} ${describeValue(i.input)} (expected one of ${options.join(", ")})`);

/** The original lower-cased action names before looking them up ("SigKill"). */
const anyCaseChoice = <T extends readonly string[]>(word: string, options: T) =>
  v.pipe(
    v.string(typeMessage("a string")),
    v.transform((s: string) => options.find((o) => o.toLowerCase() === s.toLowerCase()) ?? s),
    choice(word, options),
  );

const list = <T extends v.GenericSchema>(item: T, max: number, what: string) =>
  v.pipe(
    v.array(item, typeMessage("a list")),
    v.maxLength(max, (i: Issue) => `too many ${what} (${(i.input as unknown[]).length}, at most ${max})`),
  );

const opt = <T extends v.GenericSchema>(s: T) => v.nullish(s);

const scalarValue = v.union(
  [v.string(), v.number()],
  (i: Issue) => `expected a string or a number, got ${describeValue(i.input)}`,
);

const ArgSchema = strictObj({
  index: int(0, LIMITS.tracepointArgIndexMax),
  type: choice("type", ARG_TYPES),
  sizeArgIndex: opt(int(0, LIMITS.kprobeArgIndexMax + 1)),
  returnCopy: opt(bool()),
  /* current language: reported as KprobeArgument.label */
  label: opt(str(LIMITS.labelLength)),
  /* current language: read more of a buffer; buffers here stop at 4096 bytes */
  maxData: opt(bool()),
});

/** Kubernetes label selector: accepted as written (there are no pods here). */
const LabelSelectorSchema = v.record(v.string(), v.unknown(), typeMessage("a mapping"));

const hookExtras = {
  message: opt(str(LIMITS.messageLength)),
  tags: opt(list(str(LIMITS.tagLength), LIMITS.tagsPerHook, "tags")),
};

const ReturnArgSchema = strictObj({
  index: opt(int(0, LIMITS.kprobeArgIndexMax)),
  type: choice("type", ARG_TYPES),
});

const PidSchema = strictObj({
  operator: choice("operator", SET_OPERATORS),
  values: list(scalarValue, LIMITS.numericValuesPerMatcher, "values"),
  followForks: opt(bool()),
  isNamespacePID: opt(bool()),
});

const ArgMatchSchema = strictObj({
  index: int(0, LIMITS.tracepointArgIndexMax),
  operator: choice("operator", ARG_OPERATORS),
  /* SPortPriv and friends take none; validate.ts requires them elsewhere */
  values: v.optional(list(scalarValue, LIMITS.stringValuesPerMatcher, "values"), []),
});

const BinariesSchema = strictObj({
  operator: choice("operator", BINARY_OPERATORS),
  values: list(scalarValue, LIMITS.stringValuesPerMatcher, "values"),
  /* current language: refused by validate.ts (children are not tracked here) */
  followChildren: opt(bool()),
});

const NamespaceSchema = strictObj({
  namespace: choice("namespace", NAMESPACES),
  operator: choice("operator", SET_OPERATORS),
  values: list(scalarValue, LIMITS.numericValuesPerMatcher, "values"),
});

const NamespaceChangesSchema = strictObj({
  operator: choice("operator", SET_OPERATORS),
  values: list(scalarValue, NAMESPACES.length, "values"),
});

const CapabilitiesSchema = strictObj({
  type: opt(choice("capability set", CAP_SET_TYPES)),
  operator: choice("operator", SET_OPERATORS),
  isNamespaceCapability: opt(bool()),
  values: list(scalarValue, 64, "values"),
});

export const RATE_LIMIT_SCOPES = ["thread", "process", "global"] as const;

const ActionSchema = strictObj({
  action: anyCaseChoice("action", ACTIONS),
  /* uint32 / int32 as the original declared them; validate.ts checks what each action uses */
  argFd: opt(int(0, 0xffffffff)),
  argName: opt(int(0, 0xffffffff)),
  argError: opt(int(-(2 ** 31), 2 ** 31 - 1)),
  /* current language, Post only: at most one event per interval for the same arguments */
  rateLimit: opt(v.union([v.string(), v.number()], typeMessage("a duration such as 10s, 5m, 1h"))),
  rateLimitScope: opt(choice("rate limit scope", RATE_LIMIT_SCOPES)),
  /* GetUrl / DnsLookup (current language), done by the agent */
  argUrl: opt(str(LIMITS.urlLength)),
  argFqdn: opt(str(253)),
  /* Signal (current language): the signal number sent in the kernel */
  argSig: opt(int(1, 64)),
  /* TrackSock / UntrackSock (current language): the sock argument */
  argSock: opt(int(0, 0xffffffff)),
  /* current language, Post: extras of the event that are not produced here (warned) */
  kernelStackTrace: opt(bool()),
  userStackTrace: opt(bool()),
  imaHash: opt(bool()),
});

const SelectorSchema = strictObj({
  matchPIDs: opt(list(PidSchema, LIMITS.matchPIDsPerSelector, "matchPIDs")),
  matchArgs: opt(list(ArgMatchSchema, LIMITS.matchArgsPerSelector, "matchArgs")),
  matchReturnArgs: opt(list(ArgMatchSchema, LIMITS.matchReturnArgsPerSelector, "matchReturnArgs")),
  matchBinaries: opt(list(BinariesSchema, LIMITS.matchBinariesPerSelector, "matchBinaries")),
  matchNamespaces: opt(list(NamespaceSchema, LIMITS.matchNamespacesPerSelector, "matchNamespaces")),
  matchNamespaceChanges: opt(list(NamespaceChangesSchema, LIMITS.matchNamespaceChangesPerSelector, "matchNamespaceChanges")),
  matchCapabilities: opt(list(CapabilitiesSchema, LIMITS.matchCapabilitiesPerSelector, "matchCapabilities")),
  matchCapabilityChanges: opt(list(CapabilitiesSchema, LIMITS.matchCapabilityChangesPerSelector, "matchCapabilityChanges")),
  matchActions: opt(list(ActionSchema, LIMITS.matchActionsPerSelector, "matchActions")),
  /* current language: names in spec.selectorsMacros whose fields are appended (validate.ts) */
  macros: opt(list(str(LIMITS.callLength), 16, "macros")),
});

const selectors = opt(list(SelectorSchema, LIMITS.selectorsPerHook, "selectors"));

const KprobeSchema = strictObj({
  call: str(LIMITS.callLength),
  syscall: opt(bool()),
  return: opt(bool()),
  args: opt(list(ArgSchema, LIMITS.argsPerHook, "args")),
  returnArg: opt(ReturnArgSchema),
  selectors,
  ...hookExtras,
  ignore: opt(strictObj({ callNotFound: opt(bool()) })),
  /* current language: TrackSock / UntrackSock on the return value (warned: no socket tracking here) */
  returnArgAction: opt(anyCaseChoice("return arg action", ["Post", "TrackSock", "UntrackSock"] as const)),
});

const TracepointSchema = strictObj({
  subsystem: str(LIMITS.tracepointNameLength),
  event: str(LIMITS.tracepointNameLength),
  /* current language: a raw tracepoint (arguments are TP_PROTO's) */
  raw: opt(bool()),
  args: opt(list(ArgSchema, LIMITS.argsPerHook, "args")),
  selectors,
  ...hookExtras,
});

/* spec.lists (current language): named lists used as `call: "list:NAME"` */
export const LIST_TYPES = ["syscalls", "generated_syscalls", "generated_ftrace"] as const;
const ListSchema = strictObj({
  name: str(LIMITS.callLength),
  type: opt(choice("list type", LIST_TYPES)),
  values: opt(list(str(LIMITS.callLength), LIMITS.hooksPerPolicy * 8, "values")),
  pattern: opt(str(LIMITS.callLength)),
  validated: opt(bool()),
});

/* spec.uprobes (current language): a function of an executable or library */
const UprobeSchema = strictObj({
  path: str(LIMITS.binaryPathLength * 16),
  symbols: opt(list(str(LIMITS.callLength), LIMITS.hooksPerPolicy, "symbols")),
  symbol: opt(str(LIMITS.callLength)),
  /* current language: file offsets, virtual addresses, semaphore offsets (validate.ts) */
  offsets: opt(list(scalarValue, LIMITS.hooksPerPolicy, "offsets")),
  refCtrOffsets: opt(list(scalarValue, LIMITS.hooksPerPolicy, "refCtrOffsets")),
  addrs: opt(list(scalarValue, LIMITS.hooksPerPolicy, "addrs")),
  btfPath: opt(str(LIMITS.binaryPathLength * 16)),
  args: opt(list(ArgSchema, LIMITS.argsPerHook, "args")),
  selectors,
  ...hookExtras,
});

/* spec.lsmhooks (current language): a BPF LSM hook, named without security_ */
const LsmHookSchema = strictObj({
  hook: str(LIMITS.callLength),
  args: opt(list(ArgSchema, LIMITS.argsPerHook, "args")),
  selectors,
  ...hookExtras,
});

/* spec.usdts (current language): a USDT probe of an executable or library */
const UsdtSchema = strictObj({
  path: str(LIMITS.binaryPathLength * 16),
  provider: str(LIMITS.callLength),
  name: str(LIMITS.callLength),
  args: opt(list(ArgSchema, LIMITS.argsPerHook, "args")),
  selectors,
  ...hookExtras,
});

const MetadataSchema = strictObj({
  /* free-form as in the original; validate.ts refuses only what cannot be shown */
  name: v.pipe(v.string(typeMessage("a string")), v.minLength(1, "must not be empty")),
  namespace: opt(str(63)),
  labels: opt(v.record(v.string(), v.string(), typeMessage("a mapping of strings"))),
  annotations: opt(v.record(v.string(), v.string(), typeMessage("a mapping of strings"))),
});

export const PolicyDocumentSchema = strictObj({
  apiVersion: v.string(typeMessage("a string")),
  kind: choice("kind", KINDS),
  metadata: MetadataSchema,
  spec: strictObj({
    kprobes: opt(list(KprobeSchema, LIMITS.hooksPerPolicy, "kprobes")),
    tracepoints: opt(list(TracepointSchema, LIMITS.hooksPerPolicy, "tracepoints")),
    uprobes: opt(list(UprobeSchema, LIMITS.hooksPerPolicy, "uprobes")),
    lists: opt(list(ListSchema, LIMITS.hooksPerPolicy, "lists")),
    options: opt(list(strictObj({ name: str(LIMITS.callLength), value: opt(str(LIMITS.messageLength)) }), LIMITS.hooksPerPolicy, "options")),
    podSelector: opt(LabelSelectorSchema),
    /* current language: selector fragments by name, used as a selector's `macros` */
    selectorsMacros: opt(v.record(v.string(), SelectorSchema, typeMessage("a mapping of selectors"))),
    /* current language: node labels (no Kubernetes here; loaded disabled like podSelector) */
    hostSelector: opt(LabelSelectorSchema),
    containerSelector: opt(LabelSelectorSchema),
    /* current language: kprobes that upstream attaches with fentry (here: the best mechanism) */
    fentries: opt(list(KprobeSchema, LIMITS.hooksPerPolicy, "fentries")),
    /* current language: the syscalls NotifyEnforcer acts on */
    enforcers: opt(list(strictObj({ calls: list(str(LIMITS.callLength), LIMITS.hooksPerPolicy * 8, "calls") }), LIMITS.hooksPerPolicy, "enforcers")),
    /* current language: process_loader events (not produced here; warned) */
    loader: opt(bool()),
    /* current language, refused with a reason by validate.ts */
    lsmhooks: opt(list(LsmHookSchema, LIMITS.hooksPerPolicy, "lsmhooks")),
    usdts: opt(list(UsdtSchema, LIMITS.hooksPerPolicy, "usdts")),
  }),
});

export type PolicyDocument = v.InferOutput<typeof PolicyDocumentSchema>;
export type KprobeDoc = NonNullable<PolicyDocument["spec"]["kprobes"]>[number];
export type TracepointDoc = NonNullable<PolicyDocument["spec"]["tracepoints"]>[number];
export type ArgDoc = NonNullable<KprobeDoc["args"]>[number];
export type SelectorDoc = NonNullable<KprobeDoc["selectors"]>[number];
export type ArgMatchDoc = NonNullable<SelectorDoc["matchArgs"]>[number];
export type ActionDoc = NonNullable<SelectorDoc["matchActions"]>[number];
export type UprobeDoc = NonNullable<PolicyDocument["spec"]["uprobes"]>[number];
export type UsdtDoc = NonNullable<PolicyDocument["spec"]["usdts"]>[number];
export type LsmHookDoc = NonNullable<PolicyDocument["spec"]["lsmhooks"]>[number];
export type ListDoc = NonNullable<PolicyDocument["spec"]["lists"]>[number];
export type CapabilitiesDoc = NonNullable<SelectorDoc["matchCapabilities"]>[number];
export type ScalarValue = string | number;

/** "spec.kprobes[0].args[1].type" from a valibot issue path. */
export function issuePath(issue: Issue): string {
  let out = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}
