/** The normalized policy the rest of the agent works with: aliases resolved,
 * values parsed, defaults filled. Produced by parsePolicies() only. */
import type { ArgOperator, ArgType, BinaryOperator, CapSetType, NamespaceType, PolicyKind, SetOperator } from "./names";
import type { Cidr, NetField } from "./netops";

export interface PolicyArg {
  /** kprobe: argument position; tracepoint: field position in the format file */
  readonly index: number;
  readonly type: ArgType;
  /** 1-based position of the argument holding a buffer's size; 0 = none */
  readonly sizeArgIndex: number;
  readonly returnCopy: boolean;
  /** `label`: reported as KprobeArgument.label ("" when none) */
  readonly label: string;
}

export interface PidMatcher {
  readonly operator: SetOperator;
  readonly values: readonly number[];
  readonly followForks: boolean;
  readonly isNamespacePID: boolean;
}

export type ArgMatcher =
  | { readonly kind: "int"; readonly index: number; readonly operator: ArgOperator; readonly values: readonly bigint[] }
  | { readonly kind: "text"; readonly index: number; readonly operator: ArgOperator; readonly values: readonly string[] }
  /** socket operators (SAddr, DPort, Family, ...): negate for the Not forms;
   * ports are [lo, hi] ranges, addresses CIDRs, the rest plain numbers */
  | {
    readonly kind: "net"; readonly index: number; readonly field: NetField; readonly negate: boolean;
    readonly values: readonly number[]; readonly ranges: readonly (readonly [number, number])[]; readonly cidrs: readonly Cidr[];
  };

export interface BinariesMatcher {
  readonly operator: BinaryOperator;
  readonly values: readonly string[];
}

/** A namespace value: an inode number, or the host's namespace of that type. */
export type NamespaceValue = number | "host_ns";

export interface NamespaceMatcher {
  readonly namespace: NamespaceType;
  readonly operator: SetOperator;
  readonly values: readonly NamespaceValue[];
}

export interface NamespaceChangesMatcher {
  readonly operator: SetOperator;
  readonly values: readonly NamespaceType[];
}

export interface CapabilitiesMatcher {
  readonly type: CapSetType;
  readonly operator: SetOperator;
  readonly isNamespaceCapability: boolean;
  /** capability numbers */
  readonly values: readonly number[];
}

/** Post's rateLimit: one event per interval for the same hook, selector,
 * arguments and scope (thread: same thread, process: same process, global). */
export interface RateLimit {
  readonly intervalMs: number;
  readonly scope: "thread" | "process" | "global";
}

export type PolicyAction =
  | { readonly action: "Post"; readonly rateLimit?: RateLimit }
  | { readonly action: "Sigkill" }
  /** current language: send signal `sig` in the kernel, like Sigkill */
  | { readonly action: "Signal"; readonly sig: number }
  /** current language: here the signal is sent from the hook itself (no separate enforcer program) */
  | { readonly action: "NotifyEnforcer"; readonly sig: number }
  /** current language: the selector's other actions run, no event is posted */
  | { readonly action: "NoPost" }
  /** current language, done by the agent when a record of the selector arrives */
  | { readonly action: "GetUrl"; readonly url: string }
  | { readonly action: "DnsLookup"; readonly fqdn: string }
  | { readonly action: "Override"; readonly argError: number }
  /** fdFromReturn: the new fd is the hook's return value (return: true, returnArg fd) */
  | { readonly action: "FollowFD"; readonly argFd: number; readonly argName: number; readonly fdFromReturn: boolean }
  | { readonly action: "UnfollowFD"; readonly argFd: number }
  | { readonly action: "CopyFD"; readonly argFd: number; readonly argName: number; readonly fdFromReturn: boolean };

export interface Selector {
  readonly matchPIDs: readonly PidMatcher[];
  readonly matchArgs: readonly ArgMatcher[];
  readonly matchReturnArgs: readonly ArgMatcher[];
  readonly matchBinaries: readonly BinariesMatcher[];
  readonly matchNamespaces: readonly NamespaceMatcher[];
  readonly matchNamespaceChanges: readonly NamespaceChangesMatcher[];
  readonly matchCapabilities: readonly CapabilitiesMatcher[];
  readonly matchCapabilityChanges: readonly CapabilitiesMatcher[];
  /** never empty: Post when the document lists none */
  readonly matchActions: readonly PolicyAction[];
}

/** What a hook reports besides its arguments (current language). */
export interface HookReport {
  readonly message: string;
  readonly tags: readonly string[];
}

export interface KprobeHook extends HookReport {
  readonly kind: "kprobe";
  /** the field path of this hook in the document, for errors at attach time */
  readonly path: string;
  readonly call: string;
  readonly syscall: boolean;
  readonly return: boolean;
  readonly args: readonly PolicyArg[];
  readonly returnArg: { readonly index: number; readonly type: ArgType } | null;
  readonly selectors: readonly Selector[];
}

export interface TracepointHook extends HookReport {
  readonly kind: "tracepoint";
  readonly path: string;
  readonly subsystem: string;
  readonly event: string;
  /** raw: true (current language): arguments are TP_PROTO's, by position */
  readonly raw: boolean;
  readonly args: readonly PolicyArg[];
  readonly selectors: readonly Selector[];
}

/** spec.uprobes: one hook per symbol, offset or address; arguments are the
 * function's (user memory). */
export interface UprobeHook extends HookReport {
  readonly kind: "uprobe";
  readonly path: string;
  /** the executable or library */
  readonly binary: string;
  /** the function, "" for a hook at an offset or address */
  readonly symbol: string;
  /** a file offset (`offsets`), 0 otherwise */
  readonly offset: bigint;
  /** a virtual address in the file (`addrs`), turned into a file offset at load */
  readonly address: bigint | null;
  /** the semaphore's file offset (`refCtrOffsets`), 0 for none */
  readonly refCtrOffset: bigint;
  readonly args: readonly PolicyArg[];
  readonly selectors: readonly Selector[];
}

/** spec.lsmhooks: a BPF LSM program on the hook (`file_open`); Override returns argError as its verdict. */
export interface LsmHook extends HookReport {
  readonly kind: "lsm";
  readonly path: string;
  readonly hook: string;
  readonly args: readonly PolicyArg[];
  readonly selectors: readonly Selector[];
}

/** spec.usdts: a USDT probe (`provider`:`name`) of an executable or library; args by probe argument position. */
export interface UsdtHook extends HookReport {
  readonly kind: "usdt";
  readonly path: string;
  readonly binary: string;
  readonly provider: string;
  readonly name: string;
  readonly args: readonly PolicyArg[];
  readonly selectors: readonly Selector[];
}

export type Hook = KprobeHook | TracepointHook | UprobeHook | LsmHook | UsdtHook;

export interface Policy {
  readonly name: string;
  readonly kind: PolicyKind;
  readonly namespace: string | null;
  readonly hooks: readonly Hook[];
  /** the document's YAML text, kept for DeleteTracingPolicy by content */
  readonly source: string;
  /** "<field path>: <why>" for fields accepted for compatibility that do nothing here */
  readonly warnings: readonly string[];
  /** spec.podSelector / containerSelector: pods to select, of which there are none here */
  readonly selectsPods: boolean;
}
