// 5. Memory: agent RSS idle (before and after a gRPC client connects), with
// 10,000 live processes in its cache, at its peak during a burst of 1,000,000
// events and after it; the floor consumer and bpftrace idle beside it.
import { writeFileSync } from "node:fs";
import { Agent, statusCounter } from "./lib/agent";
import { settle, sleep } from "./lib/clock";
import type { Options } from "./lib/options";
import { writeAllPolicy } from "./lib/policy";
import { Daemon, memory, type Memory } from "./lib/proc";
import { fmt, na, reason, type Row, type Section } from "./lib/report";
import { isExecOf, Tally, type Session } from "./lib/session";
import { bin, Bpftrace, FloorProc } from "./lib/tracers";
import { bpftraceProgram, BPFTRACE_TP, ensurePolicy, isWriteEvent } from "./lib/writes";
import { WRITE_LOOP, writeLoop } from "./lib/workloads";

function mb(kb: number): string {
  return `${fmt(kb / 1024, 1)} MB`;
}

function memText(m: Memory | string): string {
  return typeof m === "string" ? na(m) : `${mb(m.rssKb)} RSS (anon ${mb(m.anonKb)}, file ${mb(m.fileKb)}; peak ${mb(m.hwmKb)})`;
}

/** The peak RSS (VmHWM) of a span: the kernel's high-water mark is reset
 * first (clear_refs 5), so the start-up peak does not hide in it. */
async function peakDuring<T>(pid: number, f: () => Promise<T>): Promise<{ value: T; peak: Memory }> {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  const value = await f();
  return { value, peak: memory(pid) };
}

function peakText(m: Memory | string): string {
  return typeof m === "string" ? na(m) : `${mb(m.hwmKb)} peak RSS`;
}

async function attempt<T>(f: () => Promise<T>): Promise<T | string> {
  try {
    return await f();
  } catch (e) {
    return reason(e);
  }
}

/** Holds n live "sleep 3600" processes until the agent has their exec events. */
async function withLiveProcs(s: Session, n: number, seen: () => number): Promise<{ mem: Memory; note: string }> {
  const holder = Daemon.start([bin("hold_procs"), String(n)], "hold_procs", "pipe");
  try {
    await holder.waitLine(/^ready \d+$/, 300_000);
    await settle(seen, n, 5000, 120_000);
    await sleep(2000);
    const mem = memory(s.agent.pid);
    const st = await s.agent.status();
    return { mem, note: `${seen()}/${n} sleep exec events delivered; agent cache entries=${statusCounter(st, "entries")} live=${statusCounter(st, "live")}` };
  } finally {
    holder.write("release\n");
    await holder.waitLine(/^released/, 120_000).catch(() => "");
    await holder.stop("SIGTERM");
  }
}

interface Burst {
  peak: Memory;
  after: Memory;
  note: string;
}

async function burst(s: Session, n: number, policy: string): Promise<Burst> {
  await ensurePolicy(s, policy);
  const before = s.tally.matched;
  const { peak } = await peakDuring(s.agent.pid, async () => {
    const loop = await writeLoop(n);
    await settle(() => s.tally.of(loop.pid).count, n + 1, 5000, 600_000);
  });
  await sleep(2000);
  const st = await s.agent.status();
  return {
    peak,
    after: memory(s.agent.pid),
    note: `burst: ${fmt(s.tally.matched - before)} of ${fmt(n + 1)} write events delivered; lost_events=${statusCounter(st, "lost_events")} shed_events=${statusCounter(st, "shed_events")} dropped_events=${statusCounter(st, "dropped_events")} ${/memory_collections=[^;]*/.exec(st)?.[0] ?? "memory_collections=?"}${s.client.ended ? `; the client's stream ended: ${s.client.ended}` : ""}`,
  };
}

interface AgentMemory {
  alone: Memory | string;
  idle: Memory | string;
  live: Memory | string;
  peak: Memory | string;
  after: Memory | string;
  notes: string[];
}

/** Like withAgent (lib/session), with a measurement before the client connects. */
async function agentMemory(o: Options): Promise<AgentMemory> {
  let sleeps = 0;
  const policy = writeAllPolicy(o.tmp, WRITE_LOOP);
  const agent = await Agent.start(policy);
  try {
    await sleep(3000);
    const alone = memory(agent.pid);
    const tally = new Tally(isWriteEvent);
    const client = await agent.client((r) => {
      tally.take(r);
      if (isExecOf(r, "/sleep", "3600")) sleeps++;
    });
    try {
      const s: Session = { agent, client, tally, hooks: [] };
      await sleep(3000);
      const idle = memory(agent.pid);
      const notes: string[] = [];
      const live = await attempt(() => withLiveProcs(s, o.liveProcs, () => sleeps));
      if (typeof live !== "string") notes.push(live.note);
      await sleep(2000);
      const b = await attempt(() => burst(s, o.burst, policy));
      if (typeof b !== "string") notes.push(b.note);
      return {
        alone,
        idle,
        live: typeof live === "string" ? live : live.mem,
        peak: typeof b === "string" ? b : b.peak,
        after: typeof b === "string" ? b : b.after,
        notes,
      };
    } finally {
      client.close();
    }
  } finally {
    await agent.stop();
  }
}

async function floorIdle(): Promise<Memory> {
  const f = await FloorProc.start();
  try {
    await sleep(1000);
    return memory(f.daemon.pid);
  } finally {
    await f.stop();
  }
}

async function bpftraceIdle(o: Options): Promise<Memory> {
  if (!o.bpftrace) throw new Error("skipped: --no-bpftrace");
  const bt = await Bpftrace.start(bpftraceProgram(), BPFTRACE_TP);
  try {
    await sleep(1000);
    return memory(bt.daemon.pid);
  } finally {
    await bt.stop();
  }
}

export async function memoryBenchmark(o: Options): Promise<Section> {
  const floor = await attempt(floorIdle);
  const bt = await attempt(() => bpftraceIdle(o));
  const agent = await attempt(() => agentMemory(o));
  const a = (f: (m: AgentMemory) => Memory | string): string => (typeof agent === "string" ? na(agent) : memText(f(agent)));
  const rows: Row[] = [
    { metric: "floor consumer (floor_proc), idle", value: memText(floor) },
    { metric: "bpftrace (write program attached), idle", value: memText(bt) },
    { metric: "agent, idle (no client)", value: a((m) => m.alone), target: "< 80 MB" },
    { metric: "agent, idle (client connected)", value: a((m) => m.idle), target: "< 80 MB" },
    { metric: `agent, ${fmt(o.liveProcs)} live processes`, value: a((m) => m.live), target: "< 150 MB" },
    { metric: `agent, during a burst of ${fmt(o.burst)} events`, value: typeof agent === "string" ? na(agent) : peakText(agent.peak), target: "< 150 MB" },
    { metric: `agent, after the burst`, value: a((m) => m.after), target: "< 150 MB" },
  ];
  const notes = typeof agent === "string" ? [] : agent.notes;
  notes.push("RSS = VmRSS of /proc/<pid>/status when measured; peak = VmHWM since the process started, except during the burst: since the burst started (clear_refs 5 resets it)");
  return { title: "Memory (RSS)", rows, notes };
}
