// Command-line options of bench/run.ts.

export interface Options {
  only: Set<string>;
  rounds: number;
  execs: number;
  writes: number;
  latencyRate: number;
  latencyCount: number;
  liveProcs: number;
  burst: number;
  bpftrace: boolean;
  fanoutClients: FanoutClient[];
  tmp: string;
}

/** The fan-out benchmark's client kinds: Node (raw node:http2) and grpc-go
 * (like `tetra getevents`). */
export const FANOUT_CLIENTS = ["node", "grpc-go"] as const;
export type FanoutClient = (typeof FANOUT_CLIENTS)[number];

export const BENCHMARKS = ["exec", "throughput", "filtering", "latency", "memory", "startup", "stages", "fanout"] as const;

const USAGE = `usage: bun run bench [-- options]
  --only a,b       run some of: ${BENCHMARKS.join(", ")}
  --rounds N       repetitions of exec/throughput/filtering/startup (default 3)
  --execs N        exec loop length (default 5000)
  --writes N       write loop length (default 2000000)
  --latency N      execs in the latency run, at 100/s (default 1000)
  --procs N        live processes in the memory benchmark (default 10000)
  --burst N        events in the memory burst (default 1000000)
  --no-bpftrace    skip the bpftrace baselines (slow: 15–45 s per 2M writes here)
  --fanout-clients a,b  fan-out client kinds, in order: node, go (grpc-go) (default node,go)`;

function fanoutClients(v: string | undefined): FanoutClient[] {
  const kinds: FanoutClient[] = [];
  for (const name of (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const kind = name === "go" ? "grpc-go" : FANOUT_CLIENTS.find((k) => k === name);
    if (kind === undefined) throw new Error(`--fanout-clients: unknown client ${name}\n${USAGE}`);
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  if (kinds.length === 0) throw new Error(`--fanout-clients needs node, go or both\n${USAGE}`);
  return kinds;
}

function num(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number\n${USAGE}`);
  return n;
}

export function parseOptions(argv: readonly string[], tmp: string): Options {
  const o: Options = {
    only: new Set(BENCHMARKS),
    rounds: 3,
    execs: 5000,
    writes: 2_000_000,
    latencyRate: 100,
    latencyCount: 1000,
    liveProcs: 10_000,
    burst: 1_000_000,
    bpftrace: true,
    fanoutClients: [...FANOUT_CLIENTS],
    tmp,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--only") o.only = new Set((v ?? "").split(",").filter(Boolean));
    else if (a === "--rounds") o.rounds = num(v, a);
    else if (a === "--execs") o.execs = num(v, a);
    else if (a === "--writes") o.writes = num(v, a);
    else if (a === "--latency") o.latencyCount = num(v, a);
    else if (a === "--procs") o.liveProcs = num(v, a);
    else if (a === "--burst") o.burst = num(v, a);
    else if (a === "--fanout-clients") o.fanoutClients = fanoutClients(v);
    else if (a === "--no-bpftrace") {
      o.bpftrace = false;
      continue;
    } else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
    i++;
  }
  return o;
}
