/** Linux signal names by number (x86, generic), as ProcessExit.signal shows them. */
const NAMES = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

export function signalName(sig: number): string {
  if (sig <= 0) return "";
  return NAMES[sig] ?? `SIG${sig}`;
}

/** Splits a wait status ((code << 8) | signal, 0x80 = core dumped). */
export function splitWaitStatus(ws: number): { status: number; signal: string } {
  return { status: (ws >> 8) & 0xff, signal: signalName(ws & 0x7f) };
}
