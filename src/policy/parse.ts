/** YAML text → validated, normalized policies. Every refusal is a PolicyError
 * with code invalid_argument and one "<field path>: <reason>" per problem. */
import * as v from "valibot";
import { parseAllDocuments, type Document } from "yaml";
import { IssueList, PolicyError } from "./errors";
import type { Policy } from "./model";
import { PolicyDocumentSchema, describeValue, issuePath } from "./schema";
import { buildHooks, checkDocument } from "./validate";

export const MAX_YAML_BYTES = 1 << 20;

export function parsePolicies(text: string): Policy[] {
  const size = Buffer.byteLength(text, "utf8");
  if (size > MAX_YAML_BYTES) {
    throw new PolicyError("invalid_argument", [`yaml: too large (${size} bytes, at most ${MAX_YAML_BYTES})`]);
  }
  const docs = readDocuments(text);
  const many = docs.length > 1;
  const policies = docs.map((d, i) => parseOne(d.value, d.source, many ? `document ${i + 1}: ` : ""));
  rejectDuplicateNames(policies, many);
  return policies;
}

interface RawDocument {
  readonly value: unknown;
  readonly source: string;
}

function readDocuments(text: string): RawDocument[] {
  // Integers come as bigints so 64-bit values survive (see exactInteger).
  const parsed = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false, intAsBigInt: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const issues = new IssueList();
  docs.forEach((d, i) => yamlErrors(d, i, docs.length > 1, text, issues));
  if (!issues.empty) throw new PolicyError("invalid_argument", issues.items);
  const out = docs
    .map((d) => ({ value: documentValue(d), source: docSource(d, text) }))
    .filter((d) => d.value !== null && d.value !== undefined);
  if (out.length === 0) throw new PolicyError("invalid_argument", ["yaml: no TracingPolicy document"]);
  return out;
}

/** The document as plain data; alias expansion is bounded (alias bombs are invalid input). */
function documentValue(doc: Document.Parsed): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100, reviver: (_key: unknown, value: unknown) => exactInteger(value) }) as unknown;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new PolicyError("invalid_argument", [`yaml: ${message.slice(0, 200)}`]);
  }
}

/** Safe integers stay numbers; larger ones (0xffffffffffffffff, 18446744073709551615)
 * become their exact decimal text, which matcher values accept. */
function exactInteger(value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}

function yamlErrors(doc: Document.Parsed, index: number, many: boolean, text: string, issues: IssueList): void {
  for (const err of doc.errors) {
    const at = lineCol(text, err.pos[0]);
    const prefix = many ? `document ${index + 1}: ` : "";
    issues.add("", `${prefix}yaml: line ${at.line} column ${at.col}: ${firstLine(err.message)}`);
  }
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

function docSource(doc: Document.Parsed, text: string): string {
  const [start, , end] = doc.range;
  return text.slice(start, end);
}

function parseOne(value: unknown, source: string, prefix: string): Policy {
  const issues = new IssueList();
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PolicyError("invalid_argument", [`${prefix}expected a TracingPolicy mapping, got ${describeValue(value)}`]);
  }
  const result = v.safeParse(PolicyDocumentSchema, value);
  if (!result.success) {
    for (const issue of result.issues) issues.add(`${prefix}${issuePath(issue)}`, issue.message);
    throw new PolicyError("invalid_argument", issues.items);
  }
  const doc = result.output;
  const local = new IssueList();
  checkDocument(doc, local);
  const hooks = buildHooks(doc, local);
  if (!local.empty) throw new PolicyError("invalid_argument", local.items.map((m) => prefix + m));
  return { name: doc.metadata.name, kind: doc.kind, namespace: doc.metadata.namespace ?? null, hooks, source };
}

function rejectDuplicateNames(policies: readonly Policy[], many: boolean): void {
  const seen = new Map<string, number>();
  const issues = new IssueList();
  policies.forEach((p, i) => {
    const first = seen.get(p.name);
    if (first !== undefined) {
      const where = many ? `document ${i + 1}: ` : "";
      issues.add(`${where}metadata.name`, `duplicate policy name "${p.name}" (also in document ${first + 1})`);
    } else seen.set(p.name, i);
  });
  if (!issues.empty) throw new PolicyError("invalid_argument", issues.items);
}
