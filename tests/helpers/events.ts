import type { Client } from "@connectrpc/connect";
import type { FineGuidanceSensors, GetEventsResponse, ProcessExec, ProcessExit, ProcessKprobe, ProcessTracepoint } from "../../gen/tetragon/tetragon_pb";

type Predicate = (ev: GetEventsResponse) => boolean;

/** Records every event of one GetEvents stream so tests can wait for the ones they caused. */
export class EventRecorder {
  readonly events: GetEventsResponse[] = [];
  private waiters: { pred: Predicate; resolve: (ev: GetEventsResponse) => void }[] = [];
  private readonly abort = new AbortController();
  private first: Promise<void>;

  private constructor(client: Client<typeof FineGuidanceSensors>, request = {}) {
    let resolveFirst: () => void = () => {};
    this.first = new Promise((r) => (resolveFirst = r));
    void (async () => {
      try {
        for await (const ev of client.getEvents(request, { signal: this.abort.signal })) {
          resolveFirst();
          this.events.push(ev);
          this.waiters = this.waiters.filter((w) => !(w.pred(ev) && (w.resolve(ev), true)));
        }
      } catch {
        // aborted at stop()
      }
    })();
  }

  static start(client: Client<typeof FineGuidanceSensors>, request = {}): EventRecorder {
    return new EventRecorder(client, request);
  }

  /** Resolves once the stream delivers (triggers an exec to make sure). */
  async ready(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      Bun.spawnSync(["/bin/true"]);
      if (await Promise.race([this.first.then(() => true), Bun.sleep(100).then(() => false)])) return;
    }
    throw new Error("GetEvents stream delivered nothing");
  }

  find(pred: Predicate, timeoutMs = 8000): Promise<GetEventsResponse> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms (${this.events.length} seen)`)), timeoutMs);
    });
  }

  async execOf(pid: number, binary: string): Promise<ProcessExec> {
    const ev = await this.find((e) => e.event.case === "processExec" && e.event.value.process?.pid === pid && e.event.value.process.binary === binary);
    return ev.event.value as ProcessExec;
  }

  async exitOf(execId: string): Promise<{ processExit: ProcessExit }> {
    const ev = await this.find((e) => e.event.case === "processExit" && e.event.value.process?.execId === execId);
    return { processExit: ev.event.value as ProcessExit };
  }

  /** The ProcessKprobe events of pid seen so far. */
  kprobesOf(pid: number): ProcessKprobe[] {
    return this.events.flatMap((e) => (e.event.case === "processKprobe" && e.event.value.process?.pid === pid ? [e.event.value] : []));
  }

  /** The ProcessTracepoint events of pid seen so far. */
  tracepointsOf(pid: number): ProcessTracepoint[] {
    return this.events.flatMap((e) => (e.event.case === "processTracepoint" && e.event.value.process?.pid === pid ? [e.event.value] : []));
  }

  stop(): void {
    this.abort.abort();
  }
}

/** A file's shared agent and event stream: call in beforeAll/afterAll. */
export function agentWithEvents(extraArgs: string[] = []) {
  const state: { agent?: import("./agent").RunningAgent; events?: EventRecorder } = {};
  return {
    async start() {
      const { startAgent } = await import("./agent");
      state.agent = await startAgent(extraArgs);
      state.events = EventRecorder.start(state.agent.client());
      await state.events.ready();
      return { agent: state.agent, events: state.events };
    },
    async stop() {
      state.events?.stop();
      await state.agent?.stop();
    },
  };
}
