// The part of bun:ffi the benchmarks use (no bun-types in this repository).
declare module "bun:ffi" {
  export const FFIType: { readonly i32: number; readonly ptr: number };
  export type Pointer = number & { readonly __pointer: unique symbol };
  export function ptr(view: ArrayBufferView): Pointer;
  interface Symbols {
    clock_gettime: (clock: number, ts: Pointer) => number;
  }
  export function dlopen(
    path: string,
    symbols: Record<string, { args: number[]; returns: number }>,
  ): { symbols: Symbols; close(): void };
}
