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

  capabilities(c: Caps): Capabilities {
    return this.caps.get(`${c.effective}:${c.permitted}:${c.inheritable}`, () =>
      create(CapabilitiesSchema, { effective: capList(c.effective), permitted: capList(c.permitted), inheritable: capList(c.inheritable) }),
    );
  }

  namespacesOf(ns: NamespaceInums): Namespaces {
    return this.namespaces.get(namespaceKey(ns), () => create(NamespacesSchema, namespacesInit(ns, this.host)));
  }
}
