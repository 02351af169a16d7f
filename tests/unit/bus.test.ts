import { describe, expect, test } from "bun:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  FilterSchema,
  GetEventsRequestSchema,
  GetEventsResponseSchema,
  ProcessExecSchema,
  ProcessExitSchema,
  ProcessSchema,
} from "../../gen/tetragon/tetragon_pb";
import type { GetEventsRequest, GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { EventBus } from "../../src/bus/index";

function event(pid: number, kind: "exec" | "exit", args = ""): GetEventsResponse {
  const process = create(ProcessSchema, { pid, execId: `id-${pid}`, binary: `/bin/p${pid}`, arguments: args });
  const value = kind === "exec" ? create(ProcessExecSchema, { process }) : create(ProcessExitSchema, { process });
  const ev =
    kind === "exec"
      ? { case: "processExec" as const, value: value as ReturnType<typeof create<typeof ProcessExecSchema>> }
      : { case: "processExit" as const, value: value as ReturnType<typeof create<typeof ProcessExitSchema>> };
  return create(GetEventsResponseSchema, { event: ev });
}

const request = (pids: number[] = []): GetEventsRequest =>
  create(GetEventsRequestSchema, { allowList: pids.length ? [create(FilterSchema, { pid: pids })] : [] });

const pidOf = (ev: GetEventsResponse): number | undefined =>
  ev.event.case === "processExec" || ev.event.case === "processExit" ? ev.event.value.process?.pid : undefined;

/** Reads n responses, failing after timeoutMs. */
async function take(iter: AsyncIterator<GetEventsResponse>, n: number, timeoutMs = 5000): Promise<GetEventsResponse[]> {
  const out: GetEventsResponse[] = [];
  const deadline = Bun.sleep(timeoutMs).then(() => "timeout" as const);
  while (out.length < n) {
    const r = await Promise.race([iter.next(), deadline]);
    if (r === "timeout") throw new Error(`timed out after ${out.length}/${n} responses`);
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

const iterate = (it: AsyncIterable<GetEventsResponse>): AsyncIterator<GetEventsResponse> => it[Symbol.asyncIterator]();

describe("EventBus basics", () => {
  test("delivers in publish order, so a process's exec comes before its exit", async () => {
    const bus = new EventBus();
    const it = iterate(bus.subscribe(request()));
    bus.publish(event(1, "exec"));
    bus.publish(event(2, "exec"));
    bus.publish(event(1, "exit"));
    bus.publish(event(2, "exit"));
    const got = await take(it, 4);
    expect(got.map((e) => `${e.event.case}:${pidOf(e)}`)).toEqual(["processExec:1", "processExec:2", "processExit:1", "processExit:2"]);
  });

  test("subscribing registers at once: events published before the first read are kept", async () => {
    const bus = new EventBus();
    const sub = bus.subscribe(request([7]));
    bus.publish(event(7, "exec"));
    bus.publish(event(8, "exec"));
    bus.publish(event(7, "exit"));
    expect((await take(iterate(sub), 2)).map((e) => e.event.case)).toEqual(["processExec", "processExit"]);
  });

  test("invalid filters throw InvalidArgument from subscribe, before any stream exists", () => {
    const bus = new EventBus();
    const bad = create(GetEventsRequestSchema, { allowList: [create(FilterSchema, { binaryRegex: ["a(b"] })] });
    let err: unknown;
    try {
      bus.subscribe(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain('"a(b"');
    expect(bus.stats().subscribers).toBe(0);
  });

  test("abort ends the stream and unsubscribes; close ends every stream", async () => {
    const bus = new EventBus();
    const ac = new AbortController();
    const a = iterate(bus.subscribe(request(), ac.signal));
    const b = iterate(bus.subscribe(request()));
    expect(bus.stats().subscribers).toBe(2);
    const pending = a.next();
    ac.abort();
    expect((await pending).done).toBe(true);
    expect(bus.stats().subscribers).toBe(1);
    bus.close();
    expect((await b.next()).done).toBe(true);
    expect(bus.stats().subscribers).toBe(0);
    expect((await iterate(bus.subscribe(request())).next()).done).toBe(true);
  });

  test("breaking out of for-await unsubscribes", async () => {
    const bus = new EventBus();
    const stream = bus.subscribe(request());
    bus.publish(event(1, "exec"));
    for await (const ev of stream) {
      expect(pidOf(ev)).toBe(1);
      break;
    }
    expect(bus.stats().subscribers).toBe(0);
  });

});

describe("slow and silent clients", () => {
  test("a silent stream drops and counts (never ends) while 100,000 events flow; others get everything", async () => {
    const bus = new EventBus({ queueCapacity: 10_000 });
    const silent = iterate(bus.subscribe(request()));
    const active = iterate(bus.subscribe(request()));
    const filtered = iterate(bus.subscribe(request([3])));
    const total = 100_000;
    let received = 0;
    let inOrder = true;
    const reader = (async () => {
      for (let r = await active.next(); !r.done; r = await active.next()) {
        if (pidOf(r.value) !== received % 1000) inOrder = false;
        if (++received === total) return;
      }
    })();
    let maxQueued = 0;
    const before = heapMiB();
    for (let k = 0; k < total; k++) {
      // ~1 KiB of distinct payload per event: 100 MiB if anything kept them all.
      bus.publish(event(k % 1000, "exec", `${k}:`.padEnd(1024, "x")));
      if (k % 1000 === 999) {
        for (const s of bus.stats().streams) maxQueued = Math.max(maxQueued, s.queued);
        await Bun.sleep(0); // the pipeline yields between ring-buffer reads too
      }
    }
    await reader;
    expect(received).toBe(total);
    expect(inOrder).toBe(true);
    expect(maxQueued).toBeLessThanOrEqual(10_000);

    // The silent stream is still open: it kept its first 10,000 events and
    // counted the rest as dropped, on this stream only.
    const stats = bus.stats();
    expect(stats.subscribers).toBe(3);
    const silentStats = stats.streams.find((st) => st.id === 1);
    expect(silentStats?.queued).toBe(10_000);
    expect(silentStats?.dropped).toBe(total - 10_000);
    expect(stats.streams.find((st) => st.id === 2)?.dropped).toBe(0);
    expect(stats.dropped).toBe(total - 10_000 + (stats.streams.find((st) => st.id === 3)?.dropped ?? -1));
    expect(bus.describe()).toContain(`dropped_events=${stats.dropped}`);
    const first = await silent.next();
    expect(first.done).toBe(false);
    expect(pidOf(first.value as GetEventsResponse)).toBe(0);
    expect((await take(filtered, 100)).every((e) => pidOf(e) === 3)).toBe(true);
    Bun.gc(true);
    expect(heapMiB() - before).toBeLessThan(60);
  });

  test("a slow stream within its queue bound loses nothing", async () => {
    const bus = new EventBus({ queueCapacity: 500 });
    const it = iterate(bus.subscribe(request()));
    for (let k = 0; k < 500; k++) bus.publish(event(k, "exec"));
    await Bun.sleep(20);
    const got = await take(it, 500);
    expect(got.map(pidOf)).toEqual(Array.from({ length: 500 }, (_, k) => k));
  });

  test("a per-stream capacity overrides the bus default; delivery resumes after drops", async () => {
    const bus = new EventBus();
    const it = iterate(bus.subscribe(request(), undefined, { queueCapacity: 3 }));
    for (let k = 0; k < 5; k++) bus.publish(event(k, "exec"));
    expect(bus.stats().streams[0]?.dropped).toBe(2);
    expect((await take(it, 3)).map(pidOf)).toEqual([0, 1, 2]);
    bus.publish(event(9, "exec"));
    expect((await take(it, 1)).map(pidOf)).toEqual([9]);
    expect(bus.stats().streams[0]).toMatchObject({ delivered: 4, dropped: 2, queued: 0 });
  });
});

describe("many clients", () => {
  test("100 concurrent streams, each with its own filter", async () => {
    const bus = new EventBus();
    const streams = Array.from({ length: 100 }, (_, k) => iterate(bus.subscribe(request(k < 50 ? [k] : [k, k - 50]))));
    const readers = streams.map((it, k) => take(it, k < 50 ? 20 : 40, 10_000).then((evs) => ({ k, evs })));
    for (let round = 0; round < 20; round++) {
      for (let pid = 0; pid < 100; pid++) bus.publish(event(pid, round % 2 === 0 ? "exec" : "exit"));
      await Bun.sleep(0);
    }
    for (const { k, evs } of await Promise.all(readers)) {
      const want = k < 50 ? [k] : [k - 50, k];
      expect(evs.length).toBe(want.length * 20);
      expect(new Set(evs.map(pidOf))).toEqual(new Set(want));
      // exec, exit alternate per process
      const own = evs.filter((e) => pidOf(e) === k).map((e) => e.event.case);
      expect(own).toEqual(Array.from({ length: 20 }, (_, r) => (r % 2 === 0 ? "processExec" : "processExit")));
    }
    expect(bus.stats().subscribers).toBe(100);
    bus.close();
  });
});

function heapMiB(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe("streams that queue wire bytes (the gRPC path)", () => {
  const decode = (b: Uint8Array): number | undefined => pidOf(fromBinary(GetEventsResponseSchema, b));

  test("events queued as bytes arrive whole and in order, also those queued before the stream asked for bytes", () => {
    const bus = new EventBus();
    const sub = bus.subscribe(request());
    bus.publish(event(1, "exec"));
    let notified = 0;
    sub.onReadable(() => notified++, "tetragon");
    bus.publish(event(2, "exec"));
    bus.publish(event(2, "exit"));
    expect(notified).toBe(1);
    expect(sub.stats().queuedBytes).toBeGreaterThan(0);
    const got = sub.takeEncoded(10, "tetragon");
    expect(got.map(decode)).toEqual([1, 2, 2]);
    expect(sub.stats()).toMatchObject({ queued: 0, queuedBytes: 0, delivered: 3, dropped: 0 });
  });

  // pids of three digits: every event encodes to the same size
  const big = (k: number) => event(100 + k, "exec", "a".repeat(1000));

  /** A bus whose streams hold at most ten big() events' bytes, and that size. */
  function busOfTenEvents(): { bus: EventBus; size: number } {
    const probeBus = new EventBus();
    const probe = probeBus.subscribe(request());
    probe.onReadable(() => {}, "tetragon");
    probeBus.publish(big(0));
    const size = probe.stats().queuedBytes;
    return { bus: new EventBus({ queueCapacity: 10_000, queueBytes: 10 * size }), size };
  }

  test("a stream's queue is bounded by bytes as well as by events: drops are counted, delivery resumes", () => {
    const { bus, size } = busOfTenEvents();
    const sub = bus.subscribe(request());
    sub.onReadable(() => {}, "tetragon");
    for (let k = 0; k < 25; k++) bus.publish(big(k));
    expect(sub.stats()).toMatchObject({ queued: 10, queuedBytes: 10 * size, dropped: 15 });
    expect(bus.demand()).toBe("saturated");
    expect(sub.takeEncoded(4, "tetragon").map(decode)).toEqual([100, 101, 102, 103]);
    expect(bus.demand()).toBe("open");
    bus.publish(big(99));
    expect(sub.takeEncoded(100, "tetragon").map(decode)).toEqual([104, 105, 106, 107, 108, 109, 199]);
    expect(sub.stats()).toMatchObject({ queued: 0, queuedBytes: 0, delivered: 11, dropped: 15 });
  });

  test("a stream whose queue is over half its byte bound counts as lagging (the agent then collects eagerly in storms)", () => {
    const { bus } = busOfTenEvents();
    const fast = bus.subscribe(request());
    fast.onReadable(() => {}, "tetragon");
    const slow = bus.subscribe(request());
    slow.onReadable(() => {}, "tetragon");
    for (let k = 0; k < 5; k++) bus.publish(big(k));
    fast.takeEncoded(100, "tetragon");
    expect(bus.lagging()).toBe(false);
    bus.publish(big(5));
    fast.takeEncoded(100, "tetragon");
    expect(slow.isLagging).toBe(true);
    expect(fast.isLagging).toBe(false);
    expect(bus.lagging()).toBe(true);
    expect(bus.demand()).toBe("open");
    slow.takeEncoded(3, "tetragon");
    expect(bus.lagging()).toBe(false);
  });
});
