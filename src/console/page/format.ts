import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { KprobeAction, KprobeActionSchema, type GetEventsResponse, type Process } from "../../../gen/tetragon/tetragon_pb";
import { formatArgument } from "../../common/arguments";
import { eventTypeNameOf } from "../../common/event-types";

/** One event as the columns of a compact row. */
export interface RowSummary {
  emoji: string;
  kind: string;
  /** CSS class for the kind (colour) */
  tone: string;
  pid: string;
  binary: string;
  /** arguments, or function/tracepoint and its arguments */
  detail: string;
  /** exit status or signal, kprobe action */
  outcome: string;
}

const SYSCALL_ENTRY = /^(__(x64|ia32|arm64|s390x|riscv)_)?sys_/;

function base(emoji: string, kind: string, tone: string, p: Process | undefined): RowSummary {
  return { emoji, kind, tone, pid: p?.pid !== undefined ? String(p.pid) : "", binary: p?.binary ?? "", detail: "", outcome: "" };
}

export function summarize(ev: GetEventsResponse): RowSummary {
  const e = ev.event;
  switch (e.case) {
    case "processExec":
      return { ...base("🚀", "process", "exec", e.value.process), detail: e.value.process?.arguments ?? "" };
    case "processExit": {
      const outcome = e.value.signal || String(e.value.status);
      return { ...base("💥", "exit", "exit", e.value.process), detail: e.value.process?.arguments ?? "", outcome };
    }
    case "processKprobe": {
      const k = e.value;
      const words = [k.functionName, ...k.args.map(formatArgument)];
      if (k.return) words.push(`= ${formatArgument(k.return)}`);
      const kind = SYSCALL_ENTRY.test(k.functionName) ? "syscall" : "kprobe";
      return { ...base("🔧", kind, "kprobe", k.process), detail: words.join(" "), outcome: actionName(k.action) };
    }
    case "processTracepoint": {
      const t = e.value;
      const detail = [`${t.subsys}/${t.event}`, ...t.args.map(formatArgument)].join(" ");
      return { ...base("📍", "tracepoint", "tracepoint", t.process), detail };
    }
    case "processUprobe": {
      const u = e.value;
      const detail = [`${u.path} ${u.symbol}`, ...u.args.map(formatArgument)].join(" ");
      return { ...base("🔍", "uprobe", "kprobe", u.process), detail };
    }
    case "processLsm": {
      const l = e.value;
      const detail = [l.functionName, ...l.args.map(formatArgument)].join(" ");
      return { ...base("🔒", "lsm", "kprobe", l.process), detail, outcome: actionName(l.action) };
    }
    case "processUsdt": {
      const u = e.value;
      const detail = [`${u.path} ${u.provider}:${u.name}`, ...u.args.map(formatArgument)].join(" ");
      return { ...base("🔍", "usdt", "kprobe", u.process), detail, outcome: actionName(u.action) };
    }
    case "processDns":
      return { ...base("🌐", "dns", "dns", e.value.process), detail: e.value.dns?.names.join(",") ?? "" };
    case "test":
      return { ...base("🧪", "test", "test", undefined), detail: [e.value.arg0, e.value.arg1, e.value.arg2, e.value.arg3].join(" ") };
    case "rateLimitInfo": {
      const n = e.value.numberOfDroppedProcessEvents;
      return { ...base("🚦", "ratelimit", "ratelimit", undefined), detail: `${n} ${n === 1n ? "event" : "events"} dropped` };
    }
    case undefined:
      return base("❓", "unknown", "unknown", undefined);
  }
}

function actionName(action: KprobeAction): string {
  if (action === KprobeAction.UNKNOWN || action === KprobeAction.POST) return "";
  return (KprobeActionSchema.value[action]?.name ?? String(action)).replace(/^KPROBE_ACTION_/, "");
}

/** The event's type as GetEvents' event_set names it. */
export function eventTypeName(ev: GetEventsResponse): string {
  return eventTypeNameOf(ev.event.case);
}

export function clockTime(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const d = timestampDate(ts);
  const ms = String(d.getMilliseconds()).padStart(3, "0");
  return `${d.toLocaleTimeString([], { hour12: false })}.${ms}`;
}

export function dateTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toLocaleString([], { hour12: false }) : "";
}
