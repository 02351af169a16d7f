// Small statistics over repeated measurements.

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest-rank quantile (q in [0, 1]); NaN for no data. */
export function quantile(xs: readonly number[], q: number): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1));
  return v[i] ?? Number.NaN;
}

export function max(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : Number.NaN;
}

export function min(xs: readonly number[]): number {
  return xs.length ? Math.min(...xs) : Number.NaN;
}

/** "median (min–max, n=3)" of a series, for noisy machines. */
export function spread(xs: readonly number[], f: (n: number) => string): string {
  if (xs.length <= 1) return f(median(xs));
  return `${f(median(xs))} (${f(min(xs))}–${f(max(xs))}, n=${xs.length})`;
}
