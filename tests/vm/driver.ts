// The guest test driver (compiled to dist/fgs-vmtest): runs the cases of
// tests/vm/cases against `fgs agent` and prints, one line each,
//   VMTEST <name> PASS <ms>
//   VMTEST <name> FAIL <ms> <reason>
//   VMTEST-LOG <diagnostic line>          (after a FAIL)
//   VMTEST-END <n> passed, <n> failed
// Usage: fgs-vmtest [NAME-REGEX]   (env: FGS_BIN, VMTEST_HELPER, VMTEST_TMP)
import { mkdirSync, rmSync } from "node:fs";
import type { VmCase, VmContext } from "./case";
import { ALL_CASES } from "./cases";
import { Agent } from "./harness/agent";
import { runProgram } from "./harness/helper";
import { kernelLogTail } from "./harness/kernel";
import { sleep } from "./harness/wait";

const DEFAULT_TIMEOUT_MS = 120_000;
const AGENT_LOG_TAIL = 60;
const MAX_DIAGNOSTIC_LINES = 400;

const config = {
  fgs: process.env.FGS_BIN ?? "/bin/fgs",
  helper: process.env.VMTEST_HELPER ?? "/bin/vmtest-helper",
  tmp: process.env.VMTEST_TMP ?? "/tmp/vmtest",
};

/** What one case left behind: its agents and the notes and logs to print on failure. */
class CaseRun implements VmContext {
  readonly helper = config.helper;
  readonly tmp: string;
  readonly agents: Agent[] = [];
  readonly diagnostics: string[] = [];

  constructor(name: string) {
    this.tmp = `${config.tmp}/${name}`;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  async startAgent(args: readonly string[] = []): Promise<Agent> {
    const options = { fgs: config.fgs, socketPath: `${this.tmp}/fgs.sock`, args };
    const agent = await Agent.start(options, (log) => this.addLog("log of the agent that failed to start", log));
    this.agents.push(agent);
    return agent;
  }

  runHelper(args: readonly string[]) {
    return runProgram(this.helper, args, this.tmp);
  }

  note(line: string): void {
    this.diagnostics.push(line);
  }

  addLog(title: string, lines: readonly string[]): void {
    this.diagnostics.push(`--- ${title} (${lines.length} lines) ---`, ...lines.flatMap(expandLogLine));
  }

  /** Stops every agent; the first unclean stop is returned as an error. */
  async stopAgents(failed: boolean): Promise<Error | undefined> {
    let firstError: Error | undefined;
    for (const [i, agent] of this.agents.entries()) {
      const error = await agent.stop().then(() => undefined, (e: Error) => e);
      firstError ??= error;
      if (failed || error) this.addAgentLog(agent, i);
    }
    return firstError;
  }

  private addAgentLog(agent: Agent, index: number): void {
    const tail = agent.logTail(AGENT_LOG_TAIL);
    const verifier = agent.logLines(/verifier|libbpf|BPF program load/i).filter((l) => !tail.includes(l));
    if (verifier.length > 0) this.addLog(`agent ${index} verifier/libbpf lines before the tail`, verifier);
    this.addLog(`agent ${index} log tail`, tail);
  }
}

/** A JSON log line whose string fields hold newlines (a verifier log) is printed line by line. */
function expandLogLine(line: string): string[] {
  if (!line.startsWith("{") || !line.includes("\\n")) return [line];
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const multi = Object.entries(record).filter(([, v]) => typeof v === "string" && v.includes("\n"));
    const rest = Object.fromEntries(Object.entries(record).filter(([, v]) => !(typeof v === "string" && v.includes("\n"))));
    return [JSON.stringify(rest), ...multi.flatMap(([k, v]) => [`  ${k}:`, ...String(v).split("\n").map((l) => `    ${l}`)])];
  } catch {
    return [line];
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`case timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 300);
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function runCase(testCase: VmCase): Promise<boolean> {
  const started = Date.now();
  const run = new CaseRun(testCase.name);
  let failure: Error | undefined;
  try {
    await withTimeout(testCase.run(run), testCase.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  } catch (e) {
    failure = e instanceof Error ? e : new Error(String(e));
  }
  const stopError = await run.stopAgents(failure !== undefined);
  failure ??= stopError;
  const ms = Date.now() - started;
  if (!failure) {
    print(`VMTEST ${testCase.name} PASS ${ms}`);
    return true;
  }
  print(`VMTEST ${testCase.name} FAIL ${ms} ${oneLine(failure.message)}`);
  printDiagnostics(failure, run);
  return false;
}

function printDiagnostics(failure: Error, run: CaseRun): void {
  const lines = [
    "--- error ---",
    ...failure.message.split("\n"),
    ...run.diagnostics,
    "--- kernel log tail ---",
    ...kernelLogTail(20),
  ];
  const shown = lines.length > MAX_DIAGNOSTIC_LINES ? [...lines.slice(0, MAX_DIAGNOSTIC_LINES), `... ${lines.length - MAX_DIAGNOSTIC_LINES} more lines`] : lines;
  for (const line of shown) print(`VMTEST-LOG ${line}`);
}

function selectCases(filter: string | undefined): readonly VmCase[] {
  if (!filter) return ALL_CASES;
  const pattern = new RegExp(filter);
  return ALL_CASES.filter((c) => pattern.test(c.name));
}

async function main(): Promise<number> {
  const filter = process.argv[2];
  const cases = selectCases(filter);
  if (cases.length === 0) print(`VMTEST-LOG no case matches ${JSON.stringify(filter)}`);
  process.on("unhandledRejection", (reason) => print(`VMTEST-LOG unhandled rejection: ${oneLine(String(reason))}`));
  let passed = 0;
  for (const testCase of cases) {
    if (await runCase(testCase)) passed++;
    await sleep(0);
  }
  const failed = cases.length - passed;
  print(`VMTEST-END ${passed} passed, ${failed} failed`);
  return failed === 0 && cases.length > 0 ? 0 : 1;
}

process.exit(await main());
