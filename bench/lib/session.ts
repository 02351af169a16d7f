// An agent with one gRPC client reading every event, for one measurement.
import { Agent } from "./agent";
import type { EventClient, Received } from "./grpc";

export interface PidCount {
  count: number;
  firstNs: number;
  lastNs: number;
}

/** Counts the events that match, per pid, with their receipt times. */
export class Tally {
  readonly byPid = new Map<number, PidCount>();
  matched = 0;

  constructor(private readonly match: (r: Received) => boolean) {}

  take(r: Received): void {
    if (!this.match(r)) return;
    this.matched++;
    const t = Number(r.recvNs);
    const c = this.byPid.get(r.ev.pid);
    if (c) {
      c.count++;
      c.lastNs = t;
    } else this.byPid.set(r.ev.pid, { count: 1, firstNs: t, lastNs: t });
  }

  of(pid: number): PidCount {
    return this.byPid.get(pid) ?? { count: 0, firstNs: Number.NaN, lastNs: Number.NaN };
  }
}

export interface Session {
  agent: Agent;
  client: EventClient;
  tally: Tally;
  /** Extra per-event hooks a benchmark adds. */
  hooks: ((r: Received) => void)[];
}

export async function withAgent<T>(
  policy: string | undefined,
  match: (r: Received) => boolean,
  fn: (s: Session) => Promise<T>,
  extraArgs: readonly string[] = [],
): Promise<T> {
  const agent = await Agent.start(policy, undefined, extraArgs);
  try {
    const tally = new Tally(match);
    const hooks: ((r: Received) => void)[] = [];
    const client = await agent.client((r) => {
      tally.take(r);
      for (const h of hooks) h(r);
    });
    try {
      return await fn({ agent, client, tally, hooks });
    } finally {
      client.close();
    }
  } finally {
    await agent.stop();
  }
}

export function isExecOf(r: Received, binarySuffix: string, argsPrefix: string): boolean {
  return r.ev.kind === "exec" && r.ev.binary.endsWith(binarySuffix) && r.ev.args.startsWith(argsPrefix);
}
