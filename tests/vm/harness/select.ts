import type {
  GetEventsResponse,
  KprobeArgument,
  ProcessExec,
  ProcessExit,
  ProcessKprobe,
} from "../../../gen/tetragon/tetragon_pb";

// Event selectors for EventLog.waitFor: each maps an event to the message a
// case wants, or undefined.

export function execOf(pid: number) {
  return (e: GetEventsResponse): ProcessExec | undefined =>
    e.event.case === "processExec" && e.event.value.process?.pid === pid ? e.event.value : undefined;
}

export function exitOf(pid: number) {
  return (e: GetEventsResponse): ProcessExit | undefined =>
    e.event.case === "processExit" && e.event.value.process?.pid === pid ? e.event.value : undefined;
}

/** A ProcessKprobe of `pid` whose function_name is one of `names`. */
export function kprobeOf(pid: number, ...names: readonly string[]) {
  return (e: GetEventsResponse): ProcessKprobe | undefined =>
    e.event.case === "processKprobe" &&
    e.event.value.process?.pid === pid &&
    names.includes(e.event.value.functionName)
      ? e.event.value
      : undefined;
}

/** The path of a file_arg or path_arg, else undefined. */
export function pathOf(arg: KprobeArgument | undefined): string | undefined {
  if (arg?.arg.case === "fileArg" || arg?.arg.case === "pathArg") return arg.arg.value.path;
  return undefined;
}

export function intOf(arg: KprobeArgument | undefined): number | undefined {
  return arg?.arg.case === "intArg" ? arg.arg.value : undefined;
}

/** A short description of an argument for failure messages. */
export function describeArg(arg: KprobeArgument | undefined): string {
  if (!arg) return "missing";
  return `${arg.arg.case ?? "empty"}=${JSON.stringify(arg.arg.value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
}
