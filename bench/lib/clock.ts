// CLOCK_MONOTONIC in nanoseconds, the clock the C programs record with, so
// times taken here and there compare directly (Bun's hrtime has another origin).
import { dlopen, FFIType, ptr } from "bun:ffi";

const CLOCK_MONOTONIC = 1;
const libc = dlopen("libc.so.6", { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } } as const);
const ts = new BigInt64Array(2);
const tsPtr = ptr(ts);

export function monoNs(): bigint {
  libc.symbols.clock_gettime(CLOCK_MONOTONIC, tsPtr);
  return (ts[0] ?? 0n) * 1_000_000_000n + (ts[1] ?? 0n);
}

export function monoMs(): number {
  return Number(monoNs()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls poke every pokeMs until done() holds; throws after timeoutMs. */
export async function waitUntil(
  done: () => boolean,
  what: string,
  timeoutMs: number,
  poke?: () => Promise<unknown> | void,
  pokeMs = 100,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let nextPoke = 0;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    if (poke && Date.now() >= nextPoke) {
      nextPoke = Date.now() + pokeMs;
      await poke();
    }
    await sleep(5);
  }
}

/** Waits until counter() stops changing for quietMs (or reaches target). */
export async function settle(counter: () => number, target: number, quietMs: number, capMs: number): Promise<void> {
  const end = Date.now() + capMs;
  let last = counter();
  let since = Date.now();
  while (counter() < target && Date.now() < end) {
    await sleep(20);
    const now = counter();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > quietMs) return;
  }
}
