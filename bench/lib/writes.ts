// write_loop under one tracer, with the cost charged to it: used by the
// throughput and in-kernel filtering benchmarks.
import { Agent, FGS, statusCounter } from "./agent";
import { costBetween, describe, snapshot, type ProgCost } from "./bpfstats";
import { settle, sleep, waitUntil } from "./clock";
import type { Received } from "./grpc";
import { writeAllPolicy, writeMarkedPolicy } from "./policy";
import { fileURLToPath } from "node:url";
import { cpuIdle, cpuSeconds, Daemon, lastLines, run, statCpuSeconds } from "./proc";
import { NotAvailable } from "./report";
import { median } from "./stats";
import { withAgent, type Session } from "./session";
import { Bpftrace, FloorWrite, type CountResult, type FloorVariant } from "./tracers";
import { WRITE_LOOP, writeLoop, type LoopResult } from "./workloads";

export interface WriteRun {
  loop: LoopResult;
  /** Events the consumer received for this loop, and the ones expected. */
  delivered: number;
  expected: number;
  /** Events received per second, from the loop's start to the last one. */
  deliveredPerS: number;
  /** Total BPF run time of the consumer's programs ÷ the loop's writes. */
  bpfNsPerWrite: number;
  /** Per program: mean run time × runs. */
  bpfText: string;
  /** CPU seconds the consumer process used from the loop's start to delivery
   * (schedstat, ns resolution; statCpuS: the same from /proc/<pid>/stat). */
  consumerCpuS: number;
  statCpuS: number;
  /** CPU seconds of this process (the gRPC client, for the agent) meanwhile. */
  clientCpuS: number;
  /** Wall seconds from the loop's start to the last event delivered. */
  wallS: number;
  /** The consumer's CPU % of one core while idle just before the loop. */
  idleCpuPct?: number;
  /** The same loop run again on the same agent right after: its consumer CPU ÷ wall. */
  warmCpuPct?: number;
  /** After `steady` more loops on the same agent (the JIT has settled): the
   * median consumer CPU ÷ wall of the last STEADY_MEASURED of them. */
  steadyCpuPct?: number;
  /** After those, one loop `sustained` times as long (a filtered-out load
   * that lasts: no ramp at its start weighs in): consumer CPU ÷ wall. */
  sustainedCpuPct?: number;
  /** Mean GetEventsResponse bytes the client received per event (agent runs). */
  eventBytes?: number;
  note: string;
}

/** What the consumer saw once the loop ended and delivery settled. */
interface Delivery {
  delivered: number;
  lastNs: number;
  note: string;
}

/** The process consuming the loop's events: settle() returns once it has
 * caught up (still running, so its CPU and BPF figures can be read), then
 * finish() reports what it received. */
interface Consumer {
  pid: number | undefined;
  settle(loopPid: number): Promise<void>;
  finish(loopPid: number): Promise<Delivery>;
}

/** Runs write_loop(n, every) under consumer and charges it the cost. */
export async function measureWrites(n: number, every: number, expected: number, c: Consumer): Promise<WriteRun> {
  const pid = c.pid;
  const s0 = pid ? snapshot(pid) : new Map<number, ProgCost>();
  const c0 = pid ? cpuSeconds(pid) : 0;
  const t0 = pid ? statCpuSeconds(pid) : 0;
  const k0 = ownCpuSeconds();
  const loop = await writeLoop(n, every);
  await c.settle(loop.pid);
  const consumerCpuS = pid ? cpuSeconds(pid) - c0 : 0;
  const statCpuS = pid ? statCpuSeconds(pid) - t0 : 0;
  const clientCpuS = ownCpuSeconds() - k0;
  const costs = pid ? costBetween(s0, snapshot(pid)) : [];
  const bpfNs = costs.reduce((sum, x) => sum + x.ns, 0);
  const d = await c.finish(loop.pid);
  const span = (d.lastNs - loop.startNs) / 1e9;
  return {
    loop,
    delivered: d.delivered,
    expected,
    deliveredPerS: d.delivered > 0 ? d.delivered / span : 0,
    bpfNsPerWrite: bpfNs / n,
    bpfText: describe(costs).text,
    consumerCpuS,
    statCpuS,
    clientCpuS,
    wallS: Math.max(d.delivered > 0 ? span : 0, (loop.endNs - loop.startNs) / 1e9),
    note: d.note,
  };
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The loop's writes plus the one write() of its summary line (fd 1). */
export function expectedAll(n: number): number {
  return n + 1;
}

export function noneWrites(n: number, every: number): Promise<WriteRun> {
  return measureWrites(n, every, 0, {
    pid: undefined,
    settle: async () => {},
    finish: async () => ({ delivered: 0, lastNs: 0, note: "" }),
  });
}

function fromCount(c: CountResult): Delivery {
  return { delivered: c.records, lastNs: c.lastNs, note: c.lost > 0 ? `lost ${c.lost} (ring full)` : "" };
}

/** A consumer that has caught up once it stops using CPU. */
function idleConsumer(pid: number, stop: () => Promise<CountResult>): Consumer {
  return { pid, settle: () => cpuIdle(pid, 300), finish: async () => fromCount(await stop()) };
}

export async function floorWrites(n: number, every: number, expected: number, fd: number | undefined, variant: FloorVariant): Promise<WriteRun> {
  const floor = await FloorWrite.start(WRITE_LOOP, fd, variant);
  try {
    return await measureWrites(n, every, expected, idleConsumer(floor.daemon.pid, () => floor.stop()));
  } finally {
    await floor.daemon.stop();
  }
}

export const BPFTRACE_TP = "sys_enter_write";

export function bpftraceProgram(fd?: number): string {
  const filter = fd === undefined ? `comm == "write_loop"` : `comm == "write_loop" && args->fd == ${fd}`;
  return `tracepoint:syscalls:sys_enter_write /${filter}/ { printf("%d %d %d %llu\\n", pid, args->fd, args->count, nsecs); }`;
}

export async function bpftraceWrites(n: number, every: number, expected: number, fd?: number): Promise<WriteRun> {
  const bt = await Bpftrace.start(bpftraceProgram(fd), BPFTRACE_TP);
  try {
    return await measureWrites(n, every, expected, idleConsumer(bt.daemon.pid, () => bt.stop()));
  } finally {
    await bt.daemon.stop();
  }
}

export function isWriteEvent(r: Received): boolean {
  return r.ev.kind === "kprobe" && r.ev.binary === WRITE_LOOP;
}

/** CPU % of one core pid uses over ms with no load of ours. */
async function idleCpu(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  await sleep(ms);
  return ((cpuSeconds(pid) - c0) / (ms / 1000)) * 100;
}

/** Adds the policy: --policy at start, else AddTracingPolicy (fgs
 * tracingpolicy add) once --policy has shown no event for a while. */
export async function ensurePolicy(s: Session, policy: string): Promise<string> {
  const seen = (): boolean => s.tally.matched > 0;
  const poke = (): Promise<LoopResult> => writeLoop(10, 1);
  try {
    await waitUntil(seen, "a write event with --policy", 8000, poke, 500);
    return "policy from --policy";
  } catch {
    const r = await run([FGS, "tracingpolicy", "add", policy, "--server-address", s.agent.address]);
    if (r.code !== 0) throw new NotAvailable(`policy not loaded: --policy gave no event; tracingpolicy add: ${lastLines(r.stderr + r.stdout, 1)}`);
    await waitUntil(seen, "a write event after tracingpolicy add", 30_000, poke, 500);
    return "policy from AddTracingPolicy (--policy gave no event)";
  }
}

const STEADY_MEASURED = 3;

/** The agent with the write policy (all calls, or only fd 100's when marked)
 * and one gRPC client counting the loop's events; inspect() runs while the
 * agent is still up; steady: loops run after the second before the steady
 * figure is taken (0: none). */
export async function agentWrites(
  n: number,
  every: number,
  expected: number,
  dir: string,
  marked: boolean,
  inspect?: (agent: Agent) => Promise<void>,
  extraArgs: readonly string[] = [],
  steady = 0,
  sustained = 0,
): Promise<WriteRun> {
  const policy = marked ? writeMarkedPolicy(dir, WRITE_LOOP) : writeAllPolicy(dir, WRITE_LOOP);
  return withAgent(policy, isWriteEvent, async (s) => {
    const how = await ensurePolicy(s, policy);
    const idleCpuPct = await idleCpu(s.agent.pid, 2000);
    const consumer: Consumer = {
      pid: s.agent.pid,
      settle: (loopPid) => settle(() => s.tally.of(loopPid).count, expected, 5000, 600_000),
      finish: async (loopPid) => {
        const st = await s.agent.status();
        const c = s.tally.of(loopPid);
        const counters = ["lost_events", "shed_events", "dropped_events", "wakeups", "slices"].map((k) => `${k}=${statusCounter(st, k)}`);
        const stream = s.client.ended ? `; the client's stream ended: ${s.client.ended}` : "";
        return { delivered: c.count, lastNs: c.lastNs, note: `${how}; agent status: ${counters.join(" ")}${stream}` };
      },
    };
    const result = await measureWrites(n, every, expected, consumer);
    await inspect?.(s.agent);
    const warm = await measureWrites(n, every, expected, consumer);
    const later: number[] = [];
    for (let i = 0; i < steady; i++) {
      const r = await measureWrites(n, every, expected, consumer);
      if (i >= steady - STEADY_MEASURED) later.push((r.consumerCpuS / r.wallS) * 100);
    }
    const steadyCpuPct = later.length ? median(later) : undefined;
    const long = sustained > 0 ? await measureWrites(n * sustained, every, Math.floor((n * sustained) / every), consumer) : undefined;
    const sustainedCpuPct = long ? (long.consumerCpuS / long.wallS) * 100 : undefined;
    const eventBytes = s.client.received > 0 ? s.client.bytes / s.client.received : undefined;
    return { ...result, idleCpuPct, warmCpuPct: (warm.consumerCpuS / warm.wallS) * 100, steadyCpuPct, sustainedCpuPct, eventBytes };
  }, extraArgs);
}

const COUNT_CLIENT = fileURLToPath(new URL("../clients/count-client.mjs", import.meta.url));

/** The newest "count <pid> <n> <ns>" line of the counting client for pid. */
function clientCount(client: Daemon, pid: number): { n: number; lastNs: number } {
  for (let i = client.lines.length - 1; i >= 0; i--) {
    const m = /^count (\d+) (\d+) (\d+)$/.exec(client.lines[i] ?? "");
    if (m && Number(m[1]) === pid) return { n: Number(m[2]), lastNs: Number(m[3]) };
  }
  return { n: 0, lastNs: 0 };
}

/** The agent with the write policy and one minimal gRPC client in its own
 * process (bench/clients/count-client.mjs, under Node), like the issue's Go
 * client that only counts responses: a client in this Bun process costs as
 * much CPU per event as the agent, and on two cores that caps what any
 * agent could deliver. The client's CPU is reported in the note. */
export async function agentWritesCounted(n: number, expected: number, dir: string): Promise<WriteRun> {
  const policy = writeAllPolicy(dir, WRITE_LOOP);
  const agent = await Agent.start(policy);
  const client = Daemon.start(["node", COUNT_CLIENT, agent.address, WRITE_LOOP], "count client");
  try {
    await client.waitLine(/^ready$/, 30_000);
    const poke = await writeLoop(10, 0);
    await waitUntil(() => clientCount(client, poke.pid).n > 0, "a write event through the counting client", 10_000);
    const idleCpuPct = await (async () => {
      const c0 = cpuSeconds(agent.pid);
      await sleep(2000);
      return ((cpuSeconds(agent.pid) - c0) / 2) * 100;
    })();
    const k0 = cpuSeconds(client.pid);
    const consumer: Consumer = {
      pid: agent.pid,
      settle: (loopPid) => settle(() => clientCount(client, loopPid).n, expected, 3000, 600_000),
      finish: async (loopPid) => {
        const st = await agent.status();
        const c = clientCount(client, loopPid);
        const counters = ["lost_events", "shed_events", "dropped_events", "wakeups", "slices"].map((k) => `${k}=${statusCounter(st, k)}`);
        const ended = client.lines.find((l) => l.startsWith("error ") || l === "ended");
        const clientCpu = cpuSeconds(client.pid) - k0;
        return { delivered: c.n, lastNs: c.lastNs, note: `counting client (Node) CPU ${clientCpu.toFixed(2)} s; agent status: ${counters.join(" ")}${ended ? `; client: ${ended}` : ""}` };
      },
    };
    const result = await measureWrites(n, 0, expected, consumer);
    return { ...result, idleCpuPct };
  } finally {
    await client.stop("SIGTERM");
    await agent.stop();
  }
}
