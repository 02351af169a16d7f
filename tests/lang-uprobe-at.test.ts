// Issue 13: spec.uprobes `offsets`, `addrs` and `refCtrOffsets` on the host
// kernel (uprobes attach here). A small program built by the test, linked at
// a fixed address (-no-pie) so that virtual addresses and file offsets
// differ; both are read from its ELF headers with readelf, not with fgs's code.
// Each policy goes through the API of a real agent, the program runs, and the
// ProcessUprobe event is checked field by field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessUprobe } from "../gen/tetragon/tetragon_pb";
import { startAgent, type RunningAgent } from "./helpers/agent";
import { EventRecorder } from "./helpers/events";

let agent: RunningAgent;
let events: EventRecorder;
const dir = `/tmp/fgs-uprobe-at-${process.pid}`;
const bin = join(dir, "target");

/* The semaphore lives in .probes (written to the file, as USDT semaphores
 * are): the kernel counts it up in every process while a uprobe with this
 * reference counter is attached, and the program reports what it saw. */
const SOURCE = `#include <stdio.h>
__attribute__((section(".probes"))) volatile unsigned short fgs_sema = 0;
__attribute__((noinline)) int fgs_at_target(int n) { return printf("target %d\\n", n) > 0; }
int main(int argc, char **argv) {
  (void)argv;
  printf("%s\\n", fgs_sema ? "enabled" : "disabled");
  return fgs_at_target(argc * 10) ? 0 : 1;
}
`;

interface ElfFacts {
  /** virtual addresses, as nm shows them */
  readonly targetAddr: bigint;
  readonly semaAddr: bigint;
  /** file offsets */
  readonly targetOffset: bigint;
  readonly semaOffset: bigint;
}

function run(cmd: string[]): string {
  const r = spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Symbol address → file offset through its section (sh_addr, sh_offset). */
function elfFacts(): ElfFacts {
  const sections = new Map<string, { addr: bigint; offset: bigint }>();
  for (const m of run(["readelf", "-SW", bin]).matchAll(/\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)/g)) {
    sections.set(m[1]!, { addr: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[3]}`) });
  }
  const symbol = (name: string): bigint => {
    const line = run(["nm", bin]).split("\n").find((l) => l.endsWith(` ${name}`));
    if (!line) throw new Error(`${name} not in nm ${bin}`);
    return BigInt(`0x${line.split(" ")[0]}`);
  };
  const offsetIn = (section: string, addr: bigint): bigint => {
    const s = sections.get(section);
    if (!s) throw new Error(`no ${section} section`);
    return addr - s.addr + s.offset;
  };
  const targetAddr = symbol("fgs_at_target");
  const semaAddr = symbol("fgs_sema");
  return { targetAddr, semaAddr, targetOffset: offsetIn(".text", targetAddr), semaOffset: offsetIn(".probes", semaAddr) };
}

let elf: ElfFacts;

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "target.c"), SOURCE);
  run(["cc", "-O1", "-no-pie", "-o", bin, join(dir, "target.c")]);
  elf = elfFacts();
  agent = await startAgent();
  events = EventRecorder.start(agent.client(), { allowList: [{ binaryRegex: [`^${dir}/`, "^/(usr/)?bin/true$"] }] });
  await events.ready();
});
afterAll(async () => {
  events?.stop();
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function policy(name: string, target: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  uprobes:
  - path: "${bin}"
${target}
    args:
    - index: 0
      type: "int"
`;
}

/** Runs the program with `extra` arguments; its stdout and the uprobe event of its run. */
async function hit(extra: string[]): Promise<{ out: string; ev: ProcessUprobe }> {
  const p = Bun.spawn([bin, ...extra], { stdout: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const ev = await events.find((e) => e.event.case === "processUprobe" && e.event.value.process?.pid === p.pid);
  return { out, ev: ev.event.value as ProcessUprobe };
}

const shape = (u: ProcessUprobe) => ({
  path: u.path, symbol: u.symbol, offset: u.offset, refCtrOffset: u.refCtrOffset, policyName: u.policyName,
  args: u.args.map((a) => a.arg.value),
});

describe("spec.uprobes offsets, addrs, refCtrOffsets (host kernel)", () => {
  test("the ELF layout makes addresses and offsets differ (so addrs must be converted)", () => {
    expect(elf.targetAddr).not.toBe(elf.targetOffset);
    expect(elf.semaAddr).not.toBe(elf.semaOffset);
  });

  test("offsets + refCtrOffsets: attached at the file offset, the kernel counts the semaphore up; event offset and ref_ctr_offset", async () => {
    const c = agent.client();
    const none = run([bin]);
    expect(none).toBe("disabled\ntarget 10\n");
    await c.addTracingPolicy({ yaml: policy("up-offset", `    offsets: [${elf.targetOffset}]\n    refCtrOffsets: ["0x${elf.semaOffset.toString(16)}"]`) });
    try {
      expect((await c.getSensorConfig({ name: "up-offset", cfgkey: "mechanism" })).cfgval)
        .toBe(`${bin}:offset 0x${elf.targetOffset.toString(16)}=uprobe ${bin}:offset 0x${elf.targetOffset.toString(16)}`);
      const { out, ev } = await hit(["a"]);
      expect(out).toBe("enabled\ntarget 20\n");
      expect(shape(ev)).toEqual({
        path: bin, symbol: "", offset: elf.targetOffset, refCtrOffset: elf.semaOffset, policyName: "up-offset", args: [20],
      });
    } finally {
      await c.deleteTracingPolicy({ yaml: "up-offset" });
    }
    expect(run([bin])).toBe("disabled\ntarget 10\n");
  });

  test("addrs: the virtual address is turned into its file offset (the event reports the offset)", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: policy("up-addr", `    addrs: ["0x${elf.targetAddr.toString(16)}"]`) });
    try {
      expect((await c.getSensorConfig({ name: "up-addr", cfgkey: "mechanism" })).cfgval)
        .toBe(`${bin}:address 0x${elf.targetAddr.toString(16)}=uprobe ${bin}:address 0x${elf.targetAddr.toString(16)}`);
      const { out, ev } = await hit(["a", "b"]);
      expect(out).toBe("disabled\ntarget 30\n");
      expect(shape(ev)).toEqual({ path: bin, symbol: "", offset: elf.targetOffset, refCtrOffset: 0n, policyName: "up-addr", args: [30] });
    } finally {
      await c.deleteTracingPolicy({ yaml: "up-addr" });
    }
  });

  test("symbols + refCtrOffsets: the symbol's probe with a semaphore", async () => {
    const c = agent.client();
    await c.addTracingPolicy({ yaml: policy("up-sym-ref", `    symbols: ["fgs_at_target"]\n    refCtrOffsets: [${elf.semaOffset}]`) });
    try {
      const { out, ev } = await hit([]);
      expect(out).toBe("enabled\ntarget 10\n");
      expect(shape(ev)).toEqual({ path: bin, symbol: "fgs_at_target", offset: 0n, refCtrOffset: elf.semaOffset, policyName: "up-sym-ref", args: [10] });
    } finally {
      await c.deleteTracingPolicy({ yaml: "up-sym-ref" });
    }
  });

  test("refused: two kinds of target in one entry, refCtrOffsets of another length, an address outside the file, a bad number", async () => {
    const c = agent.client();
    const refusal = (yaml: string) => c.addTracingPolicy({ yaml }).then(() => "loaded", (e: Error) => e.message);
    expect(await refusal(policy("up-bad1", `    symbols: ["fgs_at_target"]\n    offsets: [${elf.targetOffset}]`)))
      .toContain("spec.uprobes[0]: only one of symbols, offsets or addrs per entry");
    expect(await refusal(policy("up-bad2", `    offsets: [${elf.targetOffset}, ${elf.targetOffset + 1n}]\n    refCtrOffsets: [${elf.semaOffset}]`)))
      .toContain("spec.uprobes[0].refCtrOffsets: 1 values for 2 probes (one per symbol, offset or address)");
    expect(await refusal(policy("up-bad3", `    addrs: ["0x10"]`)))
      .toContain(`spec.uprobes[0].addrs: ${bin}: no loadable segment of the file holds address 0x10`);
    expect(await refusal(policy("up-bad4", `    offsets: [-1]`)))
      .toContain("spec.uprobes[0].offsets[0]: -1 is not an offset or address");
    expect((await c.listSensors({})).sensors.map((s) => s.name).filter((n) => n.startsWith("up-bad"))).toEqual([]);
  });
});
