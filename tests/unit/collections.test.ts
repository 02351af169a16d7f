import { describe, expect, test } from "bun:test";
import { CollectionPolicy } from "../../src/agent/collections";

const MB = 1 << 20;

/** Memory as the policy sees it, moved by the test; a collection frees what the test says. */
class FakeMemory {
  anon = 30 * MB;
  released = 0;
  heap = 10 * MB;
  now = 0;
  runs = 0;
  /** heap left by the next collection */
  heapAfter = 10 * MB;

  policy(): CollectionPolicy {
    return new CollectionPolicy(
      { anonBytes: () => this.anon, released: () => this.released, heapBytes: () => this.heap },
      () => {
        this.runs++;
        this.heap = this.heapAfter;
      },
      () => this.now,
    );
  }
}

describe("full collections the agent asks for", () => {
  test("at idle: after 16 MB of growth or 2,000 released cache entries since the last one, not before", () => {
    const m = new FakeMemory();
    const p = m.policy();
    expect(p.atIdle()).toBe(true); // the first idle moment sets the baseline
    m.anon += 15 * MB;
    expect(p.atIdle()).toBe(false);
    m.anon += 2 * MB;
    expect(p.atIdle()).toBe(true);
    m.released += 1999;
    expect(p.atIdle()).toBe(false);
    m.released += 1; // entries turned to garbage; RSS did not grow
    expect(p.atIdle()).toBe(true);
    expect(p.stats()).toEqual({ idle: 3, storm: 0 });
    expect(m.runs).toBe(3);
  });

  test("in a storm: above 24 MB of headroom over the last idle one, at most every 100 ms", () => {
    const m = new FakeMemory();
    const p = m.policy();
    p.atIdle();
    const baseline = m.anon;
    m.now = 1000;
    m.anon = baseline + 23 * MB;
    expect(p.inStorm()).toBe(false);
    m.anon = baseline + 25 * MB;
    m.heap = 40 * MB;
    expect(p.inStorm()).toBe(true); // the heap falls back to 10 MB: it was garbage
    m.now += 50;
    expect(p.inStorm()).toBe(false);
    m.now += 50;
    expect(p.inStorm()).toBe(true);
    expect(p.stats()).toEqual({ idle: 1, storm: 2 });
  });

  test("in a storm whose heap is live, the gap doubles up to 5 s; an idle collection resets it", () => {
    const m = new FakeMemory();
    const p = m.policy();
    p.atIdle();
    m.anon += 40 * MB;
    m.heapAfter = 30 * MB; // 20 MB above the idle heap after each collection: live
    const gaps: number[] = [];
    let last = 0;
    for (m.now = 1000; m.now < 30_000; m.now += 10) {
      if (!p.inStorm()) continue;
      if (last > 0) gaps.push(m.now - last);
      last = m.now;
    }
    expect(gaps.slice(0, 6)).toEqual([200, 400, 800, 1600, 3200, 5000]);
    expect(gaps.at(-1)).toBe(5000);
    m.heapAfter = 10 * MB;
    m.anon += 16 * MB;
    expect(p.atIdle()).toBe(true);
    m.anon += 30 * MB;
    m.now += 100;
    expect(p.inStorm()).toBe(true);
  });
});
