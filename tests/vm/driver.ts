// The guest test driver (compiled to dist/fgs-vmtest): runs the cases of
// tests/vm/cases against `fgs agent` and prints, one line each,
//   VMTEST <name> PASS <ms>
//   VMTEST <name> FAIL <ms> <reason>
//   VMTEST-LOG <diagnostic line>          (after a FAIL)
//   VMTEST-END <n> passed, <n> failed
// Usage: fgs-vmtest [NAME-REGEX]   (env: FGS_BIN, VMTEST_HELPER, VMTEST_TMP)
//        fgs-vmtest --list [NAME-REGEX]   (prints the case names, those matching)
import { mkdirSync, rmSync } from "node:fs";
import type { VmCase, VmContext } from "./case";
import { ALL_CASES } from "./cases";
import type { Agent } from "./harness/agent";
import { runProgram, startProgram } from "./harness/helper";
import { kernelLogSince, uptimeSeconds } from "./harness/kernel";
import { AgentPool } from "./harness/pool";

const DEFAULT_TIMEOUT_MS = 120_000;
const AGENT_LOG_LINES = 80;
const MAX_DIAGNOSTIC_LINES = 600;
/** A verifier log's reason is at its end: keep its head and a longer tail. */
const LONG_FIELD_HEAD = 15;
const LONG_FIELD_TAIL = 200;
const CLEAN_STOP_CASE = "agent-clean-stop";

const config = {
  fgs: process.env.FGS_BIN ?? "/bin/fgs",
  helper: process.env.VMTEST_HELPER ?? "/bin/vmtest-helper",
  tmp: process.env.VMTEST_TMP ?? "/tmp/vmtest",
};

/** One case's context: the agent it used and what to print if it fails. */
class CaseRun implements VmContext {
  readonly helper = config.helper;
  readonly tmp: string;
  readonly diagnostics: string[] = [];
  private agent: { agent: Agent; mark: number } | undefined;

  constructor(name: string, private readonly pool: AgentPool) {
    this.tmp = `${config.tmp}/${name}`;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  async startAgent(args: readonly string[] = []): Promise<Agent> {
    const { agent, fresh } = await this.pool.acquire(args, (log) => this.addLog("log of the agent that failed to start", log));
    if (this.agent?.agent !== agent) this.agent = { agent, mark: fresh ? 0 : agent.logMark() };
    return agent;
  }

  runHelper(args: readonly string[]) {
    return runProgram(this.helper, args, this.tmp);
  }

  startHelper(args: readonly string[]) {
    return startProgram(this.helper, args, this.tmp);
  }

  note(line: string): void {
    this.diagnostics.push(line);
  }

  addLog(title: string, lines: readonly string[]): void {
    this.diagnostics.push(`--- ${title} (${lines.length} lines) ---`, ...lines.flatMap(expandLogLine));
  }

  /** After a pass: drop the case's sensors. After a failure: keep the log, retire the agent. */
  async finish(failure: Error | undefined): Promise<Error | undefined> {
    if (!failure) {
      return this.pool.removeAddedSensors().then(() => undefined, (e: Error) => new Error(`removing the case's sensors failed: ${e.message}`));
    }
    if (this.agent) this.addAgentLog(this.agent.agent.logSince(this.agent.mark));
    await this.pool.retire();
    return failure;
  }

  private addAgentLog(lines: readonly string[]): void {
    const tail = lines.slice(-AGENT_LOG_LINES);
    const earlier = lines.slice(0, -AGENT_LOG_LINES).filter((l) => /verifier|libbpf|BPF program load/i.test(l));
    if (earlier.length > 0) this.addLog("agent verifier/libbpf lines before the tail", earlier);
    this.addLog("agent log during this case", tail);
  }
}

/** A JSON log line whose string fields hold newlines (a verifier log) is printed line by line. */
function expandLogLine(line: string): string[] {
  if (!line.startsWith("{") || !line.includes("\\n")) return [line];
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const isMulti = (v: unknown) => typeof v === "string" && v.includes("\n");
    const multi = Object.entries(record).filter(([, v]) => isMulti(v));
    const rest = Object.fromEntries(Object.entries(record).filter(([, v]) => !isMulti(v)));
    return [JSON.stringify(rest), ...multi.flatMap(([k, v]) => [`  ${k}:`, ...headAndTail(String(v).split("\n")).map((l) => `    ${l}`)])];
  } catch {
    return [line];
  }
}

function headAndTail(lines: readonly string[]): string[] {
  if (lines.length <= LONG_FIELD_HEAD + LONG_FIELD_TAIL) return [...lines];
  const skipped = lines.length - LONG_FIELD_HEAD - LONG_FIELD_TAIL;
  return [...lines.slice(0, LONG_FIELD_HEAD), `... (${skipped} lines skipped) ...`, ...lines.slice(-LONG_FIELD_TAIL)];
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

function report(name: string, since: number, failure: Error | undefined, diagnostics: readonly string[]): boolean {
  const ms = Math.round((uptimeSeconds() - since) * 1000);
  if (!failure) {
    print(`VMTEST ${name} PASS ${ms}`);
    return true;
  }
  print(`VMTEST ${name} FAIL ${ms} ${oneLine(failure.message)}`);
  const kernelLog = kernelLogSince(since);
  const lines = ["--- error ---", ...failure.message.split("\n"), ...diagnostics, `--- kernel log during the case (${kernelLog.length} lines) ---`, ...kernelLog.slice(-40)];
  const shown = lines.length > MAX_DIAGNOSTIC_LINES
    ? [...lines.slice(0, 100), `... (${lines.length - MAX_DIAGNOSTIC_LINES} lines skipped) ...`, ...lines.slice(100 - MAX_DIAGNOSTIC_LINES)]
    : lines;
  for (const line of shown) print(`VMTEST-LOG ${line}`);
  return false;
}

async function runCase(testCase: VmCase, pool: AgentPool): Promise<boolean> {
  const started = uptimeSeconds();
  const run = new CaseRun(testCase.name, pool);
  let failure: Error | undefined;
  try {
    await withTimeout(testCase.run(run), testCase.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  } catch (e) {
    failure = e instanceof Error ? e : new Error(String(e));
  }
  failure = await run.finish(failure);
  return report(testCase.name, started, failure, run.diagnostics);
}

/** Every agent must have stopped cleanly on SIGTERM (and none may have crashed). */
async function reportCleanStops(pool: AgentPool): Promise<boolean> {
  const started = uptimeSeconds();
  await pool.retire();
  const unclean = pool.uncleanStops;
  const failure = unclean.length > 0 ? new Error(`${unclean.length} of ${pool.started} agents did not stop cleanly: ${unclean.map((u) => u[0]).join("; ")}`) : undefined;
  const logs = unclean.flatMap(([reason, ...log]) => [`--- agent that stopped with: ${reason} ---`, ...log.flatMap(expandLogLine)]);
  return report(CLEAN_STOP_CASE, started, failure, logs);
}

function selectCases(filter: string | undefined): readonly VmCase[] {
  if (!filter) return ALL_CASES;
  const pattern = new RegExp(filter);
  return ALL_CASES.filter((c) => pattern.test(c.name));
}

async function main(): Promise<number> {
  if (process.argv[2] === "--list") {
    for (const c of selectCases(process.argv[3] || undefined)) print(c.name);
    return 0;
  }
  const filter = process.argv[2] || undefined;
  const cases = selectCases(filter);
  process.on("unhandledRejection", (reason) => print(`VMTEST-LOG unhandled rejection: ${oneLine(String(reason))}`));
  mkdirSync(config.tmp, { recursive: true });
  const pool = new AgentPool(config.fgs, `${config.tmp}/fgs.sock`);
  const results: boolean[] = [];
  // A filter that selects nothing is a mistake, not a pass.
  if (cases.length === 0) results.push(report("filter", uptimeSeconds(), new Error(`no case matches ${JSON.stringify(filter)}`), []));
  for (const testCase of cases) results.push(await runCase(testCase, pool));
  if (pool.started > 0) results.push(await reportCleanStops(pool));
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  print(`VMTEST-END ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exit(await main());
