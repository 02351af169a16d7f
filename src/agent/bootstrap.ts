import { hostname } from "node:os";
import type { Logger, LogLevel } from "../log/logger";
import type { ServerAddress } from "../server/address";
import { loadEmbeddedObjects, objectImage, type ObjectImages } from "../bpf/objects";
import { systemClock, type Clock } from "../bpf/clock";
import { RingBufferReader } from "../reader/ring-reader";
import { decodeRecord, OP_CLONE, OP_EXEC, OP_EXIT } from "../decode/process";
import { OP_TEST, testEvent } from "../decode/test";
import { ProcessCache, type ProcessCacheOptions } from "../cache/index";
import { EventBus } from "../bus/index";
import type { AncestryLookup } from "../filters/index";
import { ProcessSensor } from "../sensors/process-sensor";
import { SensorManager } from "../sensors/manager";
import { TestSensor, TEST_OBJECT_NAME } from "../sensors/test-sensor";
import { baseSensorConfig, kernelConfigSettings } from "../sensors/base-config";
import { FileExporter, type ExportConfig } from "../export/exporter";
import { createPolicyEngine, type Mechanism, type PolicyEngine } from "../policy/index";
import { buildInfo } from "../common/build-info";
import { loadConsoleAssets } from "../console/assets";
import { Agent, type Component } from "./agent";
import { Pipeline, type RecordObserver } from "./pipeline";
import { CollectionPolicy } from "./collections";
import { heapSize } from "bun:jsc";
import { ResidentMemory } from "./resident-memory";
import { libbpf } from "../bpf/libbpf";
import { probeKernel, type KernelEnvironment } from "../kernel/environment";
import { u32 } from "../decode/bytes";
import { RECORD } from "../decode/generic-layout";
import type { EventTally } from "../metrics/event-tally";
import { createMetricsRegistry } from "../metrics/registry";
import { cachedSources } from "../metrics/cached";
import { MetricsServer, type MetricsAddress } from "../metrics/server";
import { enableBpfStats } from "../metrics/bpf-programs";
import type { PolicyStats } from "../metrics/sources";
import type { PolicyService } from "../api/deps";
import { agentMetricsSources } from "./metrics-sources";
import { loadStoredPolicies, persistentPolicies, PolicyStore } from "./policy-store";
import { checkExposure, type SecurityOptions } from "../server/security";

export interface AgentOptions {
  address: ServerAddress;
  logLevel: LogLevel;
  policyPaths: readonly string[];
  nodeName?: string;
  ringBufferBytes?: number;
  /** --event-batch-max-delay: the reader's longest wait at a steady trickle, ms */
  eventBatchMaxDelayMs?: number;
  /** Restricts kernel-function hooks to these mechanisms (default: best available). */
  hookMechanisms?: readonly Mechanism[];
  // --- operations (ops) ---
  /** Serve Prometheus metrics here (off when absent). */
  metricsAddress?: MetricsAddress;
  /** Turn kernel BPF run-time statistics on while the agent runs. */
  metricsBpfStats?: boolean;
  /** --export-file and its options. */
  export?: ExportConfig;
  /** Policies added over the API persist here. */
  policyDir?: string;
  /** API access control and limits (src/server/security.ts). */
  security?: SecurityOptions;
}

const DEFAULT_RING_BUFFER_BYTES = 8 * 1024 * 1024;

/** Parts built so far; on a failed start, everything in here is torn down. */
interface Assembly {
  sensors: SensorManager;
  components: Component[];
}

function cacheAncestry(cache: ProcessCache): AncestryLookup {
  return {
    parentOf(execId) {
      const parent = cache.lookupExecId(execId)?.parent;
      return parent ? { pid: parent.tgid, execId: parent.execId } : undefined;
    },
  };
}

const RECONCILE_INTERVAL_MS = 30_000;

/** Health line for the kernel side, and cache repair when records were lost:
 * a lost exit record would otherwise keep its process in the cache forever. */
class KernelHealth implements Component {
  readonly name = "kernel";
  private lostSeen = 0n;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly env: KernelEnvironment,
    private readonly base: ProcessSensor,
    private readonly cache: ProcessCache,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.reconcileAfterLoss(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  private reconcileAfterLoss(): void {
    let lost = 0n;
    for (const n of this.base.lostByOp().values()) lost += n;
    if (lost === this.lostSeen) return;
    this.lostSeen = lost;
    const retired = this.cache.reconcile();
    this.log.warn("kernel dropped records; cache reconciled with /proc", { lost: lost.toString(), retired });
  }

  describe(): string {
    const lost = [...this.base.lostByOp()].map(([op, n]) => `op${op}=${n}`);
    const c = this.cache.stats();
    return `kernel ${this.env.release}: lost_events=${lost.length ? lost.join(",") : "0"}; cache: entries=${c.entries} live=${c.live} misses=${c.misses}`;
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}

function buildProcessPipeline(images: ObjectImages, options: AgentOptions, log: Logger, clock: Clock, kernel: KernelEnvironment, a: Assembly) {
  const base = ProcessSensor.load(images, log, { ringBufferBytes: options.ringBufferBytes });
  a.sensors.add(base);
  // The cache reads `ancestors` from this object on every exec: the sensor config toggles it.
  const cacheOptions: ProcessCacheOptions = { nodeName: options.nodeName ?? hostname(), clock, hostNamespaces: kernel.hostNamespaces, ancestors: false };
  const cache = new ProcessCache(cacheOptions);
  base.setConfigKeys(
    baseSensorConfig({
      ancestors: { get: () => cacheOptions.ancestors ?? false, set: (v) => void (cacheOptions.ancestors = v) },
      ...kernelConfigSettings(base.map("fgs_config")),
    }),
  );
  const bus = new EventBus({ ancestry: cacheAncestry(cache) });
  const pipeline = new Pipeline(RingBufferReader.start(base.map("events").fd, { lingerMaxMs: options.eventBatchMaxDelayMs }), bus, log, collectionPolicy(cache));
  a.components.push(pipeline);
  const onProcessRecord = (rec: Uint8Array) => {
    const decoded = decodeRecord(rec);
    return decoded ? cache.handle(decoded) : undefined;
  };
  for (const op of [OP_EXEC, OP_CLONE, OP_EXIT]) pipeline.on(op, onProcessRecord);
  pipeline.on(OP_TEST, (rec) => testEvent(rec, { nodeName: cache.nodeName, bootNsToTimestamp: clock.bootNsToTimestamp }));
  return { base, cache, bus, pipeline };
}

/** Tracing policies as sensors; their records go through the same pipeline. */
function buildPolicyEngine(images: ObjectImages, options: AgentOptions, log: Logger, clock: Clock, kernel: KernelEnvironment, parts: ReturnType<typeof buildProcessPipeline>, a: Assembly): PolicyEngine {
  const { base, cache, pipeline } = parts;
  const engine = createPolicyEngine({
    images,
    sharedMaps: base.sharedMapFds(),
    sensors: a.sensors,
    log,
    kernel,
    nodeName: cache.nodeName,
    bootNsToWallTime: clock.bootNsToWallTime,
    describe: (tgid) => cache.describe(tgid),
    allowedMechanisms: options.hookMechanisms,
  });
  const observe = tallyPolicies(engine, pipeline.tally);
  for (const op of engine.ops) pipeline.on(op, engine.handle, { sheddable: true, observe });
  a.components.push({ name: "policies", stop: () => engine.close() });
  return engine;
}

/** Counts policy records by policy and hook (events don't carry their policy),
 * including records shed under overload or built for no stream. */
function tallyPolicies(engine: PolicyEngine, tally: EventTally): RecordObserver {
  const nameOf = (id: number) => {
    const h = engine.manager.hook(id);
    return h && { policy: h.policyName, hook: h.kind === "tracepoint" ? `${h.subsystem}/${h.event}` : h.functionName };
  };
  return (bytes, at) => {
    const o = at + RECORD.hookId;
    if (o + 4 > bytes.byteLength) return;
    tally.hookRecord(u32(bytes, o), nameOf);
  };
}

/** Counts policies that failed to load over the API. */
function countingPolicies(service: PolicyService, stats: { loaded: () => number; loadErrors: number }): PolicyService {
  return {
    add: (yaml) => service.add(yaml).catch((e: unknown) => {
      stats.loadErrors++;
      throw e;
    }),
    delete: (yamlOrName) => service.delete(yamlOrName),
  };
}

/** The API's add/delete: counted for metrics, and kept in --policy-dir when given
 * (stored policies are loaded here, after the --policy files). */
async function policyBoundary(options: AgentOptions, service: PolicyService, stats: { loaded: () => number; loadErrors: number }, log: Logger): Promise<PolicyService> {
  const counted = countingPolicies(service, stats);
  if (!options.policyDir) return counted;
  const store = PolicyStore.open(options.policyDir);
  const loaded = await loadStoredPolicies(store, counted, log);
  log.info("stored tracing policies loaded", { dir: store.dir, files: loaded });
  return persistentPolicies(counted, store, log);
}

async function startMetrics(options: AgentOptions, parts: Parameters<typeof agentMetricsSources>[0], log: Logger, a: Assembly): Promise<void> {
  if (!options.metricsAddress) return;
  const statsFd = options.metricsBpfStats ? enableBpfStats() : undefined;
  const { sources, reset } = cachedSources(agentMetricsSources(parts));
  a.components.push(await MetricsServer.start(options.metricsAddress, createMetricsRegistry(sources), reset, log, statsFd));
}

/** Builds the agent from its parts: kernel checks, BPF objects, reader,
 * pipeline, cache, bus, sensors, server. Nothing half-started survives a failure. */
export async function startAgent(options: AgentOptions, log: Logger): Promise<Agent> {
  checkExposure(options.address, options.security ?? {});
  // Probed once, here; tracefs is mounted now if needed, never by a request.
  const kernel = probeKernel({ mountTracefs: true, log });
  log.info("kernel", { release: kernel.release, btf: kernel.btf, tracefs: kernel.tracefs, kprobes: kernel.kprobesMissing === null, missing: kernel.missing });
  for (const m of kernel.missing) log.warn("kernel lacks a feature", { missing: m });
  const a: Assembly = { sensors: new SensorManager(), components: [] };
  try {
    const clock = systemClock();
    const images = loadEmbeddedObjects();
    const processParts = buildProcessPipeline(images, options, log, clock, kernel, a);
    const { base, cache, bus, pipeline } = processParts;
    const policies = buildPolicyEngine(images, options, log, clock, kernel, processParts, a);
    // Loaded but not attached: operators enable it to check the kernel → client path.
    a.sensors.add(TestSensor.load(objectImage(images, TEST_OBJECT_NAME), base.sharedMapFds(), log));
    await base.enable();
    pipeline.start();
    const walk = cache.walkProcFs(base.map("execve_map"));
    log.info("learned running processes from /proc", { ...walk });
    a.components.push(new KernelHealth(kernel, base, cache, log));
    const policyStats = { loaded: () => policies.manager.list().length, loadErrors: 0 };
    const loaded = await policies.manager.addFiles(options.policyPaths);
    if (loaded.length) log.info("tracing policies loaded at start", { policies: loaded.map((p) => p.name) });
    const exporter = options.export ? await FileExporter.start({ ...options.export, nodeName: cache.nodeName }, bus, log) : undefined;
    if (exporter) a.components.push(exporter);
    const policyService = await policyBoundary(options, policies.service, policyStats, log);
    await startMetrics(options, {
      pipeline, bus, base, cache,
      ringBufferBytes: options.ringBufferBytes ?? DEFAULT_RING_BUFFER_BYTES,
      exporter: () => exporter?.stats(),
      policies: (): PolicyStats => ({ loaded: policyStats.loaded(), loadErrors: policyStats.loadErrors }),
    }, log, a);
    return await Agent.start({ address: options.address, log, version: agentVersion(), nodeName: cache.nodeName, bus, sensors: a.sensors, policies: policyService, processes: cache, consoleAssets: loadConsoleAssets(), components: a.components, security: options.security });
  } catch (e) {
    await a.sensors.shutdown();
    for (const c of a.components.reverse()) await c.stop().catch(() => {});
    throw e;
  }
}

/** Lets the pipeline ask for full collections after memory grew or many processes went (none without /proc). */
function collectionPolicy(cache: ProcessCache): CollectionPolicy | undefined {
  const resident = ResidentMemory.open(Number(libbpf().fgs_page_size()));
  return resident && new CollectionPolicy({
    anonBytes: () => resident.anonBytes(),
    released: () => cache.stats().reclaimed,
    heapBytes: () => heapSize(),
    close: () => resident.close(),
  });
}

/** GetVersion's answer: package version and the git commit baked in at build. */
export function agentVersion(): string {
  const { version, commit } = buildInfo();
  return `${version}+${commit}`;
}
