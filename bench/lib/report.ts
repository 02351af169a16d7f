// What a benchmark reports: rows of figures with the issue's target next to
// them, and notes. Benchmarks never assert; a part that cannot run says why.

export interface Row {
  metric: string;
  value: string;
  target?: string;
}

export interface Section {
  title: string;
  rows: Row[];
  notes: string[];
}

/** Thrown by a part that cannot run here; the row shows "n/a (reason)". */
export class NotAvailable extends Error {}

export function na(reason: string): string {
  return `n/a (${reason})`;
}

export function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, " ").slice(0, 300);
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(a: number, b: number, digits = 2): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return `${(a / b).toFixed(digits)}×`;
}

function pad(s: string, n: number): string {
  return s + " ".repeat(Math.max(0, n - s.length));
}

export function printSection(s: Section): void {
  const w0 = Math.max(6, ...s.rows.map((r) => r.metric.length));
  const w1 = Math.max(5, ...s.rows.map((r) => r.value.length));
  console.log(`\n== ${s.title}`);
  for (const r of s.rows) console.log(`  ${pad(r.metric, w0)}  ${pad(r.value, w1)}  ${r.target ? `target: ${r.target}` : ""}`);
  for (const n of s.notes) console.log(`  note: ${n}`);
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

export function markdown(sections: readonly Section[]): string {
  const out: string[] = [];
  for (const s of sections) {
    out.push(`### ${s.title}`, "", "| metric | result | target |", "| --- | --- | --- |");
    for (const r of s.rows) out.push(`| ${cell(r.metric)} | ${cell(r.value)} | ${cell(r.target ?? "")} |`);
    out.push("");
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push("");
  }
  return out.join("\n");
}
