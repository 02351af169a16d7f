// Parses a /metrics body with a real Prometheus text parser: Debian's
// python3-prometheus-client (text_string_to_metric_families), installed by scripts/deps.sh.
import { spawnSync } from "node:child_process";

export interface PromSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}
export interface PromFamily {
  readonly name: string;
  readonly type: string;
  readonly samples: readonly PromSample[];
}

const PARSER = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** Throws when the text is not valid exposition format (the parser raises). */
export function parsePrometheusText(text: string): PromFamily[] {
  const r = spawnSync("/usr/bin/python3", ["-c", PARSER], { input: text, encoding: "utf8", timeout: 30000 });
  if (r.status !== 0) throw new Error(`prometheus parser rejected the text: ${r.stderr}`);
  return JSON.parse(r.stdout) as PromFamily[];
}

/** Sum of the samples named `sample` whose labels include `labels`. */
export function sampleValue(families: readonly PromFamily[], sample: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name !== sample || !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
      total += s.value;
      found = true;
    }
  }
  if (!found) throw new Error(`no sample ${sample} ${JSON.stringify(labels)}`);
  return total;
}

export async function scrape(url: string): Promise<PromFamily[]> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return parsePrometheusText(await res.text());
}
