export { ProcessCache, type CacheClock, type ProcessCacheOptions, type ProcessCacheStats } from "./cache";
export type { CachedProcess } from "./entry";
export { execId } from "./exec-id";
export { flagWords } from "./flags";
export { capList } from "./caps";
export { dockerId } from "./docker";
export { signalName, splitWaitStatus } from "./signals";
export type { ExecveMapWriter, ProcFsWalkResult } from "./procfs-walk";
