import { create } from "@bufbuild/protobuf";
import { EventType, FilterSchema, type Filter } from "../../../gen/tetragon/tetragon_pb";
import { h } from "./dom";

export const EVENT_TYPES: readonly [string, EventType][] = [
  ["exec", EventType.PROCESS_EXEC],
  ["exit", EventType.PROCESS_EXIT],
  ["kprobe", EventType.PROCESS_KPROBE],
  ["tracepoint", EventType.PROCESS_TRACEPOINT],
  ["dns", EventType.PROCESS_DNS],
  ["test", EventType.TEST],
];

/** What a user may type in one filter, before it becomes a Filter message. */
export interface FilterInput {
  binaryRegex?: string[];
  pid?: number[];
  pidSet?: number[];
  namespace?: string[];
  eventSet?: EventType[];
}

/** The inputs of one GetEvents filter (an allow or a deny entry); each maps
 * onto one Filter field. Values inside a field are ORed, fields are ANDed. */
export class FilterFields {
  readonly el: HTMLElement;
  private readonly binary: HTMLInputElement;
  private readonly pid: HTMLInputElement;
  private readonly pidSet: HTMLInputElement;
  private readonly namespace: HTMLInputElement;
  private readonly types = new Map<EventType, HTMLInputElement>();

  constructor(readonly which: "allow" | "deny") {
    const input = (field: string, placeholder: string, title: string) =>
      h("input", { id: `${which}-${field}`, type: "text", placeholder, title, spellcheck: "false", autocomplete: "off" });
    this.binary = input("binary", "binary regex (RE2), space-separated", "binary_regex: RE2 expressions matched against process.binary");
    this.pid = input("pid", "pid …", "pid: process ids");
    this.pidSet = input("pidset", "pid set …", "pid_set: these processes and all their descendants");
    this.namespace = input("namespace", "k8s namespace …", "namespace: Kubernetes namespaces (host processes have none)");
    const boxes = EVENT_TYPES.map(([label, type]) => {
      const box = h("input", { type: "checkbox", id: `${which}-type-${label}`, value: String(type) });
      this.types.set(type, box);
      return h("label", { class: "check" }, box, label);
    });
    this.el = h(
      "fieldset",
      { class: `filter filter-${which}` },
      h("legend", {}, which === "allow" ? "Allow (send when matched)" : "Deny (never send when matched)"),
      this.binary,
      this.pid,
      this.pidSet,
      this.namespace,
      h("span", { class: "types", title: "event_set" }, ...boxes),
    );
  }

  /** The Filter to send, undefined when empty; throws with a message on bad numbers. */
  read(): Filter | undefined {
    const words = (s: string) => s.split(/[\s,]+/).filter((w) => w !== "");
    const f = create(FilterSchema, {
      binaryRegex: words(this.binary.value),
      pid: numbers(this.pid, "pid"),
      pidSet: numbers(this.pidSet, "pid set"),
      namespace: words(this.namespace.value),
      eventSet: [...this.types].filter(([, box]) => box.checked).map(([type]) => type),
    });
    const empty = !f.binaryRegex.length && !f.pid.length && !f.pidSet.length && !f.namespace.length && !f.eventSet.length;
    return empty ? undefined : f;
  }

  write(v: FilterInput): void {
    this.binary.value = (v.binaryRegex ?? []).join(" ");
    this.pid.value = (v.pid ?? []).join(" ");
    this.pidSet.value = (v.pidSet ?? []).join(" ");
    this.namespace.value = (v.namespace ?? []).join(" ");
    for (const [type, box] of this.types) box.checked = (v.eventSet ?? []).includes(type);
  }
}

function numbers(input: HTMLInputElement, what: string): number[] {
  return input.value
    .split(/[\s,]+/)
    .filter((w) => w !== "")
    .map((w) => {
      const n = Number(w);
      if (!/^\d+$/.test(w) || n > 0xffffffff) throw new FilterInputError(`${input.id}: ${what} "${w}" is not a process id (a number up to 4294967295)`);
      return n;
    });
}

export class FilterInputError extends Error {}
