import type {
  DnsInfo,
  GetEventsResponse,
  Process,
  ProcessDns,
  ProcessExec,
  ProcessExit,
  ProcessKprobe,
  ProcessTracepoint,
  RateLimitInfo,
  Test,
} from "../../../gen/tetragon/tetragon_pb";
import { KprobeAction, KprobeActionSchema } from "../../../gen/tetragon/tetragon_pb";
import { capabilityName, formatArgument } from "../../common/arguments";
import { escapeForTerminal } from "../../common/escape";
import { painter, type Colour, type Paint } from "./style";

export interface CompactOptions {
  /** ANSI colours; the caller resolves --color auto|always|never to this. */
  readonly colour: boolean;
}

const KIND_WIDTH = 7;
const MAX_LISTED_CAPABILITIES = 4;

/**
 * One event as one human line, e.g.
 * `🚀 process node1 /usr/bin/curl example.com` or
 * `💥 exit    node1 /usr/bin/curl example.com SIGKILL`.
 * Every process-controlled string is escaped, so the result never contains
 * a newline or a terminal escape other than our own colours.
 */
export function formatCompactLine(response: GetEventsResponse, options: CompactOptions): string {
  const paint = painter(options.colour);
  const where = placeOf(response);
  const event = response.event;
  switch (event.case) {
    case "processExec":
      return execLine(event.value, where, paint);
    case "processExit":
      return exitLine(event.value, where, paint);
    case "processKprobe":
      return kprobeLine(event.value, where, paint);
    case "processTracepoint":
      return tracepointLine(event.value, where, paint);
    case "processUprobe":
      return joinWords([
        "🔍",
        kindWord("uprobe", "magenta", paint),
        where,
        binaryWord(event.value.process, paint),
        paint(`${escapeForTerminal(event.value.path)} ${escapeForTerminal(event.value.symbol)}`, "magenta"),
        ...event.value.args.map(formatArgument),
      ]);
    case "processLsm":
      return joinWords([
        "🔒",
        kindWord("lsm", "magenta", paint),
        where,
        binaryWord(event.value.process, paint),
        paint(escapeForTerminal(event.value.functionName), "magenta"),
        ...event.value.args.map(formatArgument),
      ]);
    case "processUsdt":
      return joinWords([
        "🔍",
        kindWord("usdt", "magenta", paint),
        where,
        binaryWord(event.value.process, paint),
        paint(`${escapeForTerminal(event.value.provider)}:${escapeForTerminal(event.value.name)}`, "magenta"),
        ...event.value.args.map(formatArgument),
      ]);
    case "processDns":
      return dnsLine(event.value, where, paint);
    case "test":
      return testLine(event.value, where, paint);
    case "rateLimitInfo":
      return rateLimitLine(event.value, where, paint);
    case undefined:
      return joinWords(["❓", kindWord("unknown", "dim", paint), where]);
  }
}

function execLine(exec: ProcessExec, where: string, paint: Paint): string {
  return joinWords([
    "🚀",
    kindWord("process", "green", paint),
    where,
    ...processWords(exec.process, paint),
    capabilityGainWords(exec.process, exec.parent, paint),
  ]);
}

function exitLine(exit: ProcessExit, where: string, paint: Paint): string {
  const outcome = exit.signal ? paint(escapeForTerminal(exit.signal), "red") : String(exit.status);
  return joinWords([
    "💥",
    kindWord("exit", "red", paint),
    where,
    ...processWords(exit.process, paint),
    outcome,
  ]);
}

function kprobeLine(kprobe: ProcessKprobe, where: string, paint: Paint): string {
  const isSyscall = SYSCALL_ENTRY.test(kprobe.functionName);
  return joinWords([
    "🔧",
    kindWord(isSyscall ? "syscall" : "kprobe", "magenta", paint),
    where,
    binaryWord(kprobe.process, paint),
    paint(escapeForTerminal(kprobe.functionName), "magenta"),
    ...kprobe.args.map(formatArgument),
    kprobe.return ? `= ${formatArgument(kprobe.return)}` : "",
    actionWord(kprobe.action, paint),
  ]);
}

// Syscall entry points as the kernel names them on each architecture.
const SYSCALL_ENTRY = /^(__(x64|ia32|arm64|s390x|riscv)_)?sys_/;

function tracepointLine(tracepoint: ProcessTracepoint, where: string, paint: Paint): string {
  const name = `${escapeForTerminal(tracepoint.subsys)}/${escapeForTerminal(tracepoint.event)}`;
  return joinWords([
    "📍",
    kindWord("tracepoint", "cyan", paint),
    where,
    binaryWord(tracepoint.process, paint),
    paint(name, "cyan"),
    ...tracepoint.args.map(formatArgument),
  ]);
}

function dnsLine(dns: ProcessDns, where: string, paint: Paint): string {
  return joinWords([
    "🌐",
    kindWord("dns", "blue", paint),
    where,
    binaryWord(dns.process, paint),
    ...dnsWords(dns.dns),
  ]);
}

function dnsWords(info: DnsInfo | undefined): string[] {
  if (!info) return [];
  const names = info.names.length > 0 ? info.names : [info.query];
  const answer = info.response ? info.ips.map(escapeForTerminal).join(",") : "";
  return [names.map(escapeForTerminal).join(","), answer];
}

function testLine(test: Test, where: string, paint: Paint): string {
  const values = [test.arg0, test.arg1, test.arg2, test.arg3].map(String);
  return joinWords(["🧪", kindWord("test", "dim", paint), where, ...values]);
}

/** `🚦 ratelimit node1 120 events dropped`: the export rate limit's report. */
function rateLimitLine(info: RateLimitInfo, where: string, paint: Paint): string {
  return joinWords(["🚦", kindWord("ratelimit", "yellow", paint), where, paint(droppedWords(info.numberOfDroppedProcessEvents), "yellow")]);
}

function droppedWords(n: bigint): string {
  return `${n} ${n === 1n ? "event" : "events"} dropped`;
}

/** The pod (namespace/name) when the process runs in one, else the node. */
function placeOf(response: GetEventsResponse): string {
  const pod = processOf(response)?.pod;
  const place = pod?.name ? `${pod.namespace}/${pod.name}` : response.nodeName;
  return escapeForTerminal(place);
}

function processOf(response: GetEventsResponse): Process | undefined {
  const event = response.event;
  return event.case === undefined || event.case === "test" || event.case === "rateLimitInfo" ? undefined : event.value.process;
}

function processWords(process: Process | undefined, paint: Paint): string[] {
  return [binaryWord(process, paint), escapeForTerminal(process?.arguments ?? "")];
}

function binaryWord(process: Process | undefined, paint: Paint): string {
  return paint(escapeForTerminal(process?.binary ?? ""), "bold");
}

function kindWord(kind: string, colour: Colour, paint: Paint): string {
  return paint(kind.padEnd(KIND_WIDTH), colour);
}

/** Effective capabilities the process has and its parent had not, e.g. after a setuid exec. */
function capabilityGainWords(process: Process | undefined, parent: Process | undefined, paint: Paint): string {
  if (!process?.cap || !parent?.cap) return "";
  const parentCapabilities = new Set(parent.cap.effective);
  const gained = process.cap.effective.filter((capability) => !parentCapabilities.has(capability));
  if (gained.length === 0) return "";
  const listed = gained.slice(0, MAX_LISTED_CAPABILITIES).map(capabilityName);
  const more = gained.length > listed.length ? [`+${gained.length - listed.length}`] : [];
  return paint(["🛑", ...listed, ...more].join(" "), "yellow");
}

/** Only actions that did something beyond reporting are shown. */
function actionWord(action: KprobeAction, paint: Paint): string {
  if (action === KprobeAction.UNKNOWN || action === KprobeAction.POST) return "";
  const name = KprobeActionSchema.value[action]?.name ?? String(action);
  return paint(`[${name.replace(/^KPROBE_ACTION_/, "")}]`, "red");
}

/** Words separated by one space; empty words (no arguments, no trailer) vanish. */
function joinWords(words: string[]): string {
  return words.filter((word) => word !== "").join(" ");
}
