import type { CharSet } from "./charset.ts";

export type AssertKind = "beginText" | "endText" | "beginLine" | "endLine" | "wordBoundary" | "notWordBoundary";

/** Parsed RE2 expression. Groups, capture names and greediness are gone:
 * they change what a match captures, never whether a match exists. */
export type Node =
  | { readonly kind: "empty" }
  | { readonly kind: "lit"; readonly cp: number }
  | { readonly kind: "set"; readonly set: CharSet }
  | { readonly kind: "assert"; readonly at: AssertKind }
  | { readonly kind: "cat"; readonly items: readonly Node[] }
  | { readonly kind: "alt"; readonly items: readonly Node[] }
  /** max = -1 means unbounded. */
  | { readonly kind: "rep"; readonly item: Node; readonly min: number; readonly max: number };

export class Re2SyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Re2SyntaxError";
  }
}
