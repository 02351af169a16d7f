/** Capabilities and Namespaces messages are the same for most processes
 * (every host process shares its namespaces; few distinct capability sets
 * exist): one message per distinct value is built and shared by every
 * Process that has it. Bounded, so hostile variety costs only rebuilds. */
import { create } from "@bufbuild/protobuf";
import { CapabilitiesSchema, NamespacesSchema, type Capabilities, type Namespaces } from "../../gen/tetragon/tetragon_pb";
import { NAMESPACE_FIELDS, type Caps, type NamespaceInums } from "../decode/process";
import { capList } from "./caps";
import { namespacesInit } from "./namespaces";

const MAX_SHARED = 1024;

function sameNamespaces(a: NamespaceInums, b: NamespaceInums): boolean {
  for (const name of NAMESPACE_FIELDS) if (a[name] !== b[name]) return false;
  return true;
}

function namespaceKey(ns: NamespaceInums): string {
  let key = "";
  for (const name of NAMESPACE_FIELDS) key += `${ns[name]}:`;
  return key;
}

class BoundedMemo<V> {
  private readonly map = new Map<string, V>();

  get(key: string, build: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    if (this.map.size >= MAX_SHARED) this.map.clear();
    const v = build();
    this.map.set(key, v);
    return v;
  }
}

export class SharedProcessParts {
  private readonly caps = new BoundedMemo<Capabilities>();
  private readonly namespaces = new BoundedMemo<Namespaces>();

  constructor(private readonly host: NamespaceInums) {}

  private lastCaps: { caps: Caps; message: Capabilities } | undefined;

  /** Like namespacesOf: the previous process's set first (a bigint key costs three decimal conversions). */
  capabilities(c: Caps): Capabilities {
    const last = this.lastCaps;
    if (last && last.caps.effective === c.effective && last.caps.permitted === c.permitted && last.caps.inheritable === c.inheritable) return last.message;
    const message = this.keyedCapabilities(c);
    this.lastCaps = { caps: c, message };
    return message;
  }

  private keyedCapabilities(c: Caps): Capabilities {
    return this.caps.get(`${c.effective}:${c.permitted}:${c.inheritable}`, () =>
      create(CapabilitiesSchema, { effective: capList(c.effective), permitted: capList(c.permitted), inheritable: capList(c.inheritable) }),
    );
  }

  private last: { inums: NamespaceInums; message: Namespaces } | undefined;

  /** Most processes share the previous one's namespaces: checked first, without a key. */
  namespacesOf(ns: NamespaceInums): Namespaces {
    if (this.last && sameNamespaces(this.last.inums, ns)) return this.last.message;
    const message = this.keyedNamespaces(ns);
    this.last = { inums: ns, message };
    return message;
  }

  private keyedNamespaces(ns: NamespaceInums): Namespaces {
    return this.namespaces.get(namespaceKey(ns), () => create(NamespacesSchema, namespacesInit(ns, this.host)));
  }
}
