import type { HistogramSnapshot } from "./sources";

/** Default bounds for per-record handling time, milliseconds. */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100];

/** A fixed-bucket histogram cheap enough for the hot path (no allocation per observation). */
export class FixedHistogram {
  private readonly counts: Float64Array;
  private count = 0;
  private sum = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BOUNDS_MS) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        return;
      }
    }
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const c of this.counts) cumulative.push((running += c));
    return { bounds: this.bounds, cumulative, count: this.count, sum: this.sum };
  }
}
