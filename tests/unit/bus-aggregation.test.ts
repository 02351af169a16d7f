import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  AggregationOptionsSchema,
  GetEventsRequestSchema,
  GetEventsResponseSchema,
  KprobeArgumentSchema,
  ProcessExitSchema,
  ProcessKprobeSchema,
  ProcessSchema,
  ProcessTracepointSchema,
  TestSchema,
} from "../../gen/tetragon/tetragon_pb";
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { aggregationKey, aggregationSettings, EventBus } from "../../src/bus/index";

let clock = 0;
const at = () => create(TimestampSchema, { seconds: BigInt(1_700_000_000 + clock++) });
const proc = (pid: number) => create(ProcessSchema, { pid, execId: `id-${pid}`, binary: "/bin/x" });

function kprobe(pid: number, fd: number, fn = "fd_install"): GetEventsResponse {
  const args = [create(KprobeArgumentSchema, { arg: { case: "intArg", value: fd } })];
  const value = create(ProcessKprobeSchema, { process: proc(pid), functionName: fn, args });
  return create(GetEventsResponseSchema, { event: { case: "processKprobe", value }, time: at(), nodeName: "n1" });
}
function tracepoint(pid: number, event: string): GetEventsResponse {
  const value = create(ProcessTracepointSchema, { process: proc(pid), subsys: "syscalls", event });
  return create(GetEventsResponseSchema, { event: { case: "processTracepoint", value }, time: at() });
}
const exit = (pid: number): GetEventsResponse =>
  create(GetEventsResponseSchema, { event: { case: "processExit", value: create(ProcessExitSchema, { process: proc(pid) }) }, time: at() });
const testEv = (): GetEventsResponse => create(GetEventsResponseSchema, { event: { case: "test", value: create(TestSchema, {}) }, time: at() });

const aggregating = (windowMs: number, channelBufferSize = 0n) =>
  create(GetEventsRequestSchema, {
    aggregationOptions: create(AggregationOptionsSchema, {
      windowSize: create(DurationSchema, { seconds: BigInt(Math.floor(windowMs / 1000)), nanos: (windowMs % 1000) * 1e6 }),
      channelBufferSize,
    }),
  });

/** Returns drain(ms): what arrives within ms; one read stays pending across calls. */
function reader(stream: AsyncIterable<GetEventsResponse>): (ms: number) => Promise<GetEventsResponse[]> {
  const it = stream[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<GetEventsResponse>> | undefined;
  return async (ms) => {
    const out: GetEventsResponse[] = [];
    const stop = Bun.sleep(ms).then(() => undefined);
    for (;;) {
      pending ??= it.next();
      const r = await Promise.race([pending, stop]);
      if (r === undefined) return out;
      pending = undefined;
      if (r.done === true) return out;
      out.push(r.value);
    }
  };
}

const count = (ev: GetEventsResponse): bigint | undefined => ev.aggregationInfo?.count;
const describeEv = (ev: GetEventsResponse): string => {
  const e = ev.event;
  const what = e.case === "processKprobe" ? `${e.value.functionName}(${e.value.args.map((a) => a.arg.value).join()})` : e.case;
  return `${what}${count(ev) === undefined ? "" : ` x${count(ev)}`}`;
};

describe("aggregation", () => {
  test("identical events within the window become one response with the count and the first time", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(aggregating(150)));
    const first = kprobe(1, 3);
    bus.publish(first);
    for (let k = 0; k < 4; k++) bus.publish(kprobe(1, 3));
    for (let k = 0; k < 3; k++) bus.publish(kprobe(1, 4));
    bus.publish(kprobe(2, 3)); // another process: another bucket
    bus.publish(testEv()); // does not aggregate: goes out at once
    const immediate = await drain(50);
    expect(immediate.map(describeEv)).toEqual(["test"]);
    const later = await drain(300);
    expect(later.map(describeEv)).toEqual(["fd_install(3) x5", "fd_install(4) x3", "fd_install(3) x1"]);
    expect(later[0]?.time).toEqual(first.time);
    expect(later[0]?.nodeName).toBe("n1");
    expect(first.aggregationInfo).toBeUndefined(); // the published event is shared, never mutated
    bus.close();
  });

  test("a new window starts counting afresh", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(aggregating(60)));
    bus.publish(kprobe(1, 3));
    bus.publish(kprobe(1, 3));
    expect((await drain(150)).map(describeEv)).toEqual(["fd_install(3) x2"]);
    bus.publish(kprobe(1, 3));
    expect((await drain(150)).map(describeEv)).toEqual(["fd_install(3) x1"]);
    bus.close();
  });

  test("tracepoints aggregate by subsys/event; other processes' order is unaffected", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(aggregating(80)));
    for (let k = 0; k < 3; k++) bus.publish(tracepoint(5, "sys_enter_openat"));
    bus.publish(tracepoint(5, "sys_enter_close"));
    const got = await drain(250);
    expect(got.map((e) => `${e.event.case === "processTracepoint" ? e.event.value.event : "?"} x${count(e)}`)).toEqual([
      "sys_enter_openat x3",
      "sys_enter_close x1",
    ]);
    bus.close();
  });

  test("per-process order: a process's pending aggregates go out before its exit, without waiting for the window", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(aggregating(10_000)));
    bus.publish(kprobe(1, 3));
    bus.publish(kprobe(2, 3));
    bus.publish(kprobe(1, 3));
    bus.publish(exit(1));
    expect((await drain(50)).map(describeEv)).toEqual(["fd_install(3) x2", "processExit"]);
    bus.close();
  });

  test("channel_buffer_size bounds the pending distinct events: the oldest goes out early", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(aggregating(10_000, 2n)));
    bus.publish(kprobe(1, 1));
    bus.publish(kprobe(1, 1));
    bus.publish(kprobe(1, 2));
    bus.publish(kprobe(1, 3));
    expect((await drain(50)).map(describeEv)).toEqual(["fd_install(1) x2"]);
    expect(bus.stats().streams[0]?.pendingAggregated).toBe(2);
    bus.close();
  });

  test("without aggregation_options nothing is aggregated", async () => {
    const bus = new EventBus();
    const drain = reader(bus.subscribe(create(GetEventsRequestSchema, {})));
    bus.publish(kprobe(1, 3));
    bus.publish(kprobe(1, 3));
    const got = await drain(30);
    expect(got.map(describeEv)).toEqual(["fd_install(3)", "fd_install(3)"]);
  });

  test("settings: default 15 s window, bad windows rejected with InvalidArgument", () => {
    expect(aggregationSettings(create(AggregationOptionsSchema, {}))).toEqual({ windowMs: 15_000, maxBuckets: 10_000 });
    expect(aggregationSettings(create(AggregationOptionsSchema, { channelBufferSize: 10n ** 12n })).maxBuckets).toBe(100_000);
    const zero = create(AggregationOptionsSchema, { windowSize: create(DurationSchema, {}) });
    let err: unknown;
    try {
      new EventBus().subscribe(create(GetEventsRequestSchema, { aggregationOptions: zero }));
    } catch (e) {
      err = e;
    }
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect(err).toBeInstanceOf(ConnectError);
  });

  test("which events aggregate", () => {
    expect(aggregationKey(kprobe(1, 3))).toBe(aggregationKey(kprobe(1, 3)));
    expect(aggregationKey(kprobe(1, 3))).not.toBe(aggregationKey(kprobe(1, 4)));
    expect(aggregationKey(kprobe(1, 3))).not.toBe(aggregationKey(kprobe(1, 3, "security_file_open")));
    expect(aggregationKey(kprobe(1, 3))).not.toBe(aggregationKey(kprobe(2, 3)));
    expect(aggregationKey(tracepoint(1, "a"))).toBeDefined();
    expect(aggregationKey(exit(1))).toBeUndefined();
    expect(aggregationKey(testEv())).toBeUndefined();
  });

  test("a full queue counts every aggregated occurrence as dropped", async () => {
    const bus = new EventBus();
    const it = bus.subscribe(aggregating(10_000), undefined, { queueCapacity: 1 })[Symbol.asyncIterator]();
    bus.publish(exit(3)); // fills the queue
    for (let k = 0; k < 5; k++) bus.publish(kprobe(1, 3));
    bus.publish(exit(1)); // flushes the x5 aggregate: dropped, then the exit: dropped
    expect(bus.stats().streams[0]?.dropped).toBe(6);
    const r = await it.next();
    expect(r.done).toBe(false);
  });
});
