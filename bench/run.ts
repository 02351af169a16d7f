// bun run bench: every benchmark with its baselines side by side, printing
// absolute figures and ratios. Reports only; never asserts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { execBenchmark } from "./exec";
import { filteringBenchmark } from "./filtering";
import { latencyBenchmark } from "./latency";
import { memoryBenchmark } from "./memory";
import { startupBenchmark } from "./startup";
import { stagesBenchmark } from "./stages";
import { fanoutBenchmark } from "./fanout";
import { throughputBenchmark } from "./throughput";
import { disableBpfStats, enableBpfStats } from "./lib/bpfstats";
import { parseOptions, type Options } from "./lib/options";
import { markdown, na, NotAvailable, printSection, reason, type Section } from "./lib/report";
import { Daemon } from "./lib/proc";
import { Agent } from "./lib/agent";
import { BUILD, requireBuilt } from "./lib/tracers";

type Bench = (o: Options) => Promise<Section>;

const BENCHES: ReadonlyArray<[string, string, Bench]> = [
  ["exec", "Exec overhead", execBenchmark],
  ["throughput", "Event throughput and loss", throughputBenchmark],
  ["filtering", "In-kernel filtering", filteringBenchmark],
  ["latency", "Latency", latencyBenchmark],
  ["memory", "Memory", memoryBenchmark],
  ["startup", "Start-up and size", startupBenchmark],
  ["stages", "User-space stages per event", stagesBenchmark],
  ["fanout", "Fan-out", fanoutBenchmark],
];

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args);
  return r.status === 0 ? r.stdout.toString().split("\n")[0]?.trim() ?? "" : "not found";
}

function machine(): string[] {
  const cpu = cpus()[0]?.model ?? "?";
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `kernel: ${kernel}`,
    `bun: ${process.versions.bun ?? "?"}; ${version("bpftrace", ["--version"])}; ${version("clang", ["--version"])}`,
    `load average at start: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  ];
}

async function runOne(title: string, bench: Bench, o: Options): Promise<Section> {
  try {
    return await bench(o);
  } catch (e) {
    const why = e instanceof NotAvailable ? e.message : `failed: ${reason(e)}`;
    return { title, rows: [{ metric: "result", value: na(why) }], notes: [] };
  }
}

function onInterrupt(sig: NodeJS.Signals): void {
  console.error(`\n${sig}: stopping the benchmark's processes`);
  Daemon.killAll();
  Agent.killAll();
  setTimeout(() => process.exit(130), 500);
}

async function main(): Promise<void> {
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onInterrupt);
  const tmp = mkdtempSync(join(tmpdir(), "fgs-bench-"));
  const o = parseOptions(process.argv.slice(2), tmp);
  requireBuilt();
  const head = machine();
  head.forEach((l) => console.log(l));
  const sections: Section[] = [];
  const statsErr = await enableBpfStats();
  if (statsErr) head.push(`BPF run-time statistics unavailable: ${statsErr}`);
  try {
    for (const [name, title, bench] of BENCHES) {
      if (!o.only.has(name)) continue;
      const s = await runOne(title, bench, o);
      printSection(s);
      sections.push(s);
    }
  } finally {
    await disableBpfStats();
    rmSync(tmp, { recursive: true, force: true });
  }
  const md = `${head.map((l) => `- ${l}`).join("\n")}\n\n${markdown(sections)}`;
  writeFileSync(join(BUILD, "results.md"), md);
  console.log(`\nmarkdown of these results: ${join(BUILD, "results.md")} (${statSync(join(BUILD, "results.md")).size} bytes)`);
}

await main();
