import { NAMESPACE_FIELDS, type NamespaceInums } from "../decode/process";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { NamespacesSchema } from "../../gen/tetragon/tetragon_pb";

type NamespacesInit = MessageInitShape<typeof NamespacesSchema>;

const MESSAGE_FIELD: Record<(typeof NAMESPACE_FIELDS)[number], keyof NamespacesInit> = {
  uts: "uts",
  ipc: "ipc",
  mnt: "mnt",
  pid: "pid",
  pid_for_children: "pidForChildren",
  net: "net",
  time: "time",
  time_for_children: "timeForChildren",
  cgroup: "cgroup",
  user: "user",
};

/** The Namespaces message: is_host when equal to pid 1's namespace at agent start. */
export function namespacesInit(ns: NamespaceInums, host: NamespaceInums): NamespacesInit {
  const out: Record<string, { inum: number; isHost: boolean }> = {};
  for (const name of NAMESPACE_FIELDS) out[MESSAGE_FIELD[name]] = { inum: ns[name], isHost: ns[name] !== 0 && ns[name] === host[name] };
  return out as NamespacesInit;
}
