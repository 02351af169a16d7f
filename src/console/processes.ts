import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Process } from "../../gen/tetragon/tetragon_pb";
import {
  file_fgs_console_v1_console,
  ListProcessesResponseSchema,
  ProcessEntrySchema,
  ProcessInspector,
  type ProcessEntry,
} from "../../gen/fgs/console/v1/console_pb";
import type { CachedProcess } from "../cache/entry";

/** What ListProcesses reads: the process cache (src/cache), read-only. */
export interface ProcessSource {
  entries(): Iterable<Readonly<CachedProcess>>;
  toProcess(entry: CachedProcess): Process;
}

export const MAX_LISTED_PROCESSES = 100_000;

/** fgs.console.v1.ProcessInspector, answered from the process cache. */
export function createProcessInspector(source: ProcessSource): ServiceImpl<typeof ProcessInspector> {
  return {
    listProcesses(req) {
      const limit = req.limit === 0 ? MAX_LISTED_PROCESSES : Math.min(req.limit, MAX_LISTED_PROCESSES);
      const processes: ProcessEntry[] = [];
      let truncated = false;
      for (const entry of source.entries()) {
        if (!entry.alive && !req.includeExited) continue;
        if (processes.length === limit) {
          truncated = true;
          break;
        }
        processes.push(create(ProcessEntrySchema, { process: source.toProcess(entry), alive: entry.alive }));
      }
      return create(ListProcessesResponseSchema, { processes, truncated });
    },
  };
}

export { file_fgs_console_v1_console, ProcessInspector };
