/** Byte layouts of bpf/generic/config.h (what the compiler writes into the
 * hook's maps), checked against the compiled BTF by tests/btf-layout.test.ts.
 * The records' layouts live next to their decoder (src/decode/generic-layout.ts). */
export { GEN, GenType } from "../../decode/generic-layout";

/** gen_arg_cfg.flags */
export const ArgFlag = { userFirst: 1, inline: 2, dataLoc: 4, returnCopy: 8, signed: 16 } as const;
/** gen_hook_cfg.flags */
export const HookFlag = { syscall: 1, exit: 2, tracepoint: 4, hasRet: 8 } as const;
/** enum gen_op */
export const GenOp = { eq: 1, neq: 2, prefix: 3, postfix: 4, mask: 5, gt: 6, lt: 7, notPrefix: 8, notPostfix: 9, inRange: 10, notInRange: 11, fileType: 12, notFileType: 13 } as const;
export const GenSet = { in: 1, notIn: 2 } as const;
/** matchBinaries prefix / postfix forms; their tries use text id binTextId + selector */
export const GenBin = { prefix: 3, notPrefix: 4, postfix: 5, notPostfix: 6, binTextId: 250 } as const;
export const PidFlag = { followForks: 1, nsPid: 2 } as const;
export const GenKind = { int: 0, text: 1, saddr: 2, daddr: 3, sport: 4, dport: 5, family: 6, protocol: 7, state: 8 } as const;
export const CapSet = { Effective: 0, Inheritable: 1, Permitted: 2 } as const;
/** enum gen_action (KprobeAction numbering) */
export const GenAction = { none: 0, post: 1, followFd: 2, sigkill: 3, unfollowFd: 4, override: 5, copyFd: 6, signal: 10, notifyEnforcer: 13 } as const;
export const ActionFlag = { fromReturn: 1 } as const;

export const ARG_CFG = { type: 0, flags: 1, slot: 2, sizeSlot: 3, off: 4, fsize: 6, sizeOff: 8, sizeFsize: 10, bytes: 16 } as const;
export const PID_M = { op: 0, flags: 1, n: 2, values: 4, bytes: 36 } as const;
export const ARG_M = { arg: 0, op: 1, n: 2, kind: 3, id: 4, values: 8, bytes: 72 } as const;
export const NS_M = { ns: 0, op: 1, n: 2, values: 4, bytes: 36 } as const;
export const CAP_M = { set: 0, op: 1, nsCap: 2, mask: 8, bytes: 16 } as const;
export const ACTION = { action: 0, argFd: 1, argName: 2, flags: 3, err: 4, bytes: 8 } as const;
export const SELECTOR = {
  npid: 0, narg: 1, nret: 2, nns: 3, ncap: 4, ncapchg: 5, nact: 6, binOp: 7, nschgOp: 8, nschgMask: 10,
  pid: 16, arg: 88, ret: 448, ns: 592, cap: 952, capchg: 1000, act: 1048, bytes: 1072,
} as const;
export const HOOK_CFG = { hookId: 0, flags: 4, nargs: 8, nsel: 9, hostUserNs: 12, args: 16, ret: 112, sel: 128, bytes: 5488 } as const;

export const STR_KEY = { id: 0, len: 4, s: 8, bytes: 264 } as const;
export const LPM_KEY = { prefixlen: 0, id: 4, s: 5, bytes: 260 } as const;
export const BIN_KEY = { sel: 0, path: 4, bytes: 260 } as const;
