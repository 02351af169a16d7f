/** YAML text → validated, normalized policies. Every refusal is a PolicyError
 * with code invalid_argument and one "<field path>: <reason>" per problem. */
import * as v from "valibot";
import { parseAllDocuments, type Document } from "yaml";
import { IssueList, PolicyError } from "../model/errors";
import type { Policy } from "../model/model";
import { API_VERSION, KINDS } from "../model/names";
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
  // logLevel error: problems become our messages, never Node warnings on stderr.
  const parsed = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false, intAsBigInt: true, logLevel: "error" });
  const docs = Array.isArray(parsed) ? parsed : [];
  const issues = new IssueList();
  docs.forEach((d, i) => yamlErrors(d, i, docs.length > 1, text, issues));
  if (!issues.empty) throw new PolicyError("invalid_argument", issues.items);
  const template = templateIssue(text);
  if (template) throw new PolicyError("invalid_argument", [template]);
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

const TEMPLATE_RE = /\{\{-?\s*[.$][^}]*\}\}/;

/** A Go template (the original's test policies carry {{.Pid}} and the like)
 * is not a TracingPolicy until it is filled in: one message, not a cascade. */
function templateIssue(text: string): string | null {
  const m = TEMPLATE_RE.exec(text);
  if (!m) return null;
  const at = lineCol(text, m.index);
  return `yaml: line ${at.line} column ${at.col}: ${m[0]} is a template placeholder: this is a template of a TracingPolicy, not a TracingPolicy (fill in its placeholders first)`;
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
  const notPolicy = notATracingPolicy(value as Record<string, unknown>);
  if (notPolicy) throw new PolicyError("invalid_argument", [`${prefix}${notPolicy}`]);
  const local = new IssueList();
  const result = v.safeParse(PolicyDocumentSchema, withDefaultHead(value as Record<string, unknown>, local));
  if (!result.success) {
    for (const issue of result.issues) issues.add(`${prefix}${issuePath(issue)}`, issue.message);
    throw new PolicyError("invalid_argument", issues.items);
  }
  const doc = result.output;
  checkDocument(doc, local);
  const hooks = buildHooks(doc, local);
  if (!local.empty) throw new PolicyError("invalid_argument", local.items.map((m) => prefix + m));
  return {
    name: doc.metadata.name, kind: doc.kind, namespace: doc.metadata.namespace ?? null, hooks, source,
    warnings: local.warnings,
    selectsPods: Boolean(doc.spec.podSelector ?? doc.spec.containerSelector ?? doc.spec.hostSelector),
  };
}

/** The original's own examples sometimes left out kind or apiVersion (its
 * loader did not need them): such a document is a TracingPolicy, with a warning. */
function withDefaultHead(doc: Record<string, unknown>, issues: IssueList): Record<string, unknown> {
  const out = { ...doc };
  if (out["kind"] === undefined) {
    issues.warn("kind", "missing: taken as TracingPolicy");
    out["kind"] = "TracingPolicy";
  }
  if (out["apiVersion"] === undefined) {
    issues.warn("apiVersion", `missing: taken as ${API_VERSION}`);
    out["apiVersion"] = API_VERSION;
  }
  return out;
}

/** A document of another kind gets one message, not one per missing field. */
function notATracingPolicy(doc: Record<string, unknown>): string | null {
  const kind = doc["kind"];
  if (typeof kind === "string" && (KINDS as readonly string[]).includes(kind)) return null;
  if (kind === undefined && ("spec" in doc || "metadata" in doc)) return null;
  const got = kind === undefined ? "it has no kind" : `its kind is ${describeValue(kind)}`;
  return `not a TracingPolicy: ${got} (expected kind: TracingPolicy or TracingPolicyNamespaced, apiVersion: ${API_VERSION})`;
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
