/** The console's bounded event store and rate meter (src/console/page/store.ts):
 * pure logic, so it runs here without a browser. */
import { describe, expect, test } from "bun:test";
import { RateMeter, RingStore } from "../../src/console/page/store";

describe("RingStore", () => {
  test("keeps the newest `capacity` items and counts the rest as not kept", () => {
    const store = new RingStore<number>(10_000);
    for (let i = 0; i < 25_000; i++) store.push(i);
    expect(store.size).toBe(10_000);
    expect(store.dropped).toBe(15_000);
    expect(store.first).toBe(15_000);
    expect(store.end).toBe(25_000);
    expect(store.at(15_000)).toBe(15_000);
    expect(store.at(24_999)).toBe(24_999);
    expect(store.at(14_999)).toBeUndefined();
    expect(store.at(25_000)).toBeUndefined();
  });

  test("clear starts over", () => {
    const store = new RingStore<string>(3);
    ["a", "b", "c", "d"].forEach((s) => store.push(s));
    store.clear();
    expect([store.size, store.dropped, store.first, store.end]).toEqual([0, 0, 0, 0]);
    store.push("e");
    expect(store.at(0)).toBe("e");
  });
});

describe("RateMeter", () => {
  test("rates per key over the last five seconds, and a per-second history with gaps filled", () => {
    const t0 = 1_000_000_000_000;
    const meter = new RateMeter(300, t0);
    for (let i = 0; i < 50; i++) meter.count("PROCESS_EXEC", t0 + 100);
    for (let i = 0; i < 10; i++) meter.count("PROCESS_EXIT", t0 + 200);
    meter.roll(t0 + 1000);
    expect(meter.rates()).toEqual(new Map([["PROCESS_EXEC", 10], ["PROCESS_EXIT", 2]]));
    meter.roll(t0 + 4000);
    expect(meter.history.slice(-4).map(([, n]) => n)).toEqual([60, 0, 0, 0]);
    meter.roll(t0 + 10_000);
    expect(meter.rates().size).toBe(0);
    meter.roll(t0 + 400_000);
    expect(meter.history.length).toBeLessThanOrEqual(300);
  });
});
