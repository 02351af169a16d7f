import { hostname } from "node:os";
import { HealthStatusResult } from "../../gen/tetragon/tetragon_pb";
import type { HealthReport, PolicyService } from "../api/deps";
import type { EventBus } from "../bus/bus";
import type { Logger } from "../log/logger";
import { ProtocolListener } from "../server/listener";
import { createApiHandler } from "../server/routes";
import type { ServerAddress } from "../server/address";
import { createSecurity, type Security, type SecurityOptions } from "../server/security";
import { SensorManager } from "../sensors/manager";
import type { ProcessSource } from "../console/processes";
import type { ConsoleAssets } from "../console/assets";
import type { Component } from "../common/component";

export type { Component };

export interface AgentParts {
  address: ServerAddress;
  log: Logger;
  version: string;
  nodeName?: string;
  bus: EventBus;
  sensors: SensorManager;
  policies?: PolicyService;
  processes?: ProcessSource;
  consoleAssets?: ConsoleAssets;
  /** Who may call the API and its cost bounds (src/server/security.ts). */
  security?: SecurityOptions;
  /** Started before the server; stopped after it, in reverse order. */
  components: Component[];
}

/** The agent: explicit parts, no global state, so tests can start one on a random port. */
export class Agent {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly parts: AgentParts,
    private readonly listener: ProtocolListener,
    private readonly security: Security,
    readonly address: string,
    private readonly shutdown: AbortController,
  ) {}

  static async start(parts: AgentParts): Promise<Agent> {
    const shutdown = new AbortController();
    const security = createSecurity(parts.address, parts.security ?? {}, parts.log);
    const handler = createApiHandler({
      version: parts.version,
      sensors: parts.sensors,
      events: parts.bus,
      policies: parts.policies,
      processes: parts.processes,
      console: parts.consoleAssets,
      health: () => Agent.health(parts),
    }, (routes) => security.guard.wrap(routes), { shutdown: shutdown.signal });
    const listener = new ProtocolListener(handler, security.listener);
    const address = await listener.listen(parts.address);
    security.guard.bound(listener.port);
    let tokenFile: string;
    try {
      tokenFile = security.writeConsoleToken(listener.port);
    } catch (e) {
      await listener.close();
      throw e;
    }
    parts.log.info("console", { url: security.consoleUrl(address), token_file: tokenFile });
    parts.log.info("serving FineGuidanceSensors", { address, services: ["tetragon.FineGuidanceSensors", "fgs.FineGuidanceSensors"] });
    return new Agent(parts, listener, security, address, shutdown);
  }

  get nodeName(): string {
    return this.parts.nodeName ?? hostname();
  }

  get port(): number | undefined {
    return this.listener.port;
  }

  private static health(parts: AgentParts): HealthReport {
    const sensors = parts.sensors.list().map((s) => `${s.name}=${s.enabled ? "enabled" : "disabled"}`);
    const lines = [
      `sensors: ${sensors.join(" ") || "none"}`,
      ...parts.components.map((c) => c.describe?.()).filter((l): l is string => !!l),
      parts.bus.describe(),
    ];
    const healthy = parts.components.every((c) => c.healthy?.() ?? true);
    const status = healthy ? HealthStatusResult.HEALTH_STATUS_RUNNING : HealthStatusResult.HEALTH_STATUS_ERROR;
    /* `tetra status` prints the first entry's details: the original's word */
    return { status, details: healthy ? "running" : "error", diagnostics: lines.join("; ") };
  }

  /** Closes streams, stops the server, detaches every BPF program. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { log } = this.parts;
    log.info("stopping agent");
    // gRPC event streams end with UNAVAILABLE (clients may reconnect), then the rest.
    this.shutdown.abort();
    this.parts.bus.close();
    await this.listener.close();
    this.security.removeConsoleToken();
    for (const err of await this.parts.sensors.shutdown()) log.error("sensor shutdown failed", { error: err.message });
    for (const c of [...this.parts.components].reverse()) {
      try {
        await c.stop();
      } catch (e) {
        log.error("component stop failed", { component: c.name, error: e instanceof Error ? e.message : String(e) });
      }
    }
    log.info("agent stopped");
  }
}
