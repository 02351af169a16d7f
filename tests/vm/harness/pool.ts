import { Agent } from "./agent";

const STOP_LOG_LINES = 40;

interface Current {
  readonly agent: Agent;
  readonly key: string;
  /** Sensors the agent had before any case added one. */
  readonly baseSensors: ReadonlySet<string>;
}

/**
 * One agent at a time, shared by consecutive cases that start it with the
 * same flags: under TCG an agent start costs many seconds.
 */
export class AgentPool {
  private current: Current | undefined;
  /** One entry per agent that did not stop cleanly: the reason, then its log. */
  readonly uncleanStops: string[][] = [];
  started = 0;

  constructor(private readonly fgs: string, private readonly socketPath: string) {}

  /** The agent for these flags, and whether it was started just now. */
  async acquire(
    args: readonly string[],
    onStartFailure: (log: string[]) => void,
  ): Promise<{ agent: Agent; fresh: boolean }> {
    const key = JSON.stringify(args);
    if (this.current?.key === key && this.current.agent.running) return { agent: this.current.agent, fresh: false };
    await this.retire();
    this.started++;
    const agent = await Agent.start({ fgs: this.fgs, socketPath: this.socketPath, args }, onStartFailure);
    const sensors = await agent.client.listSensors({});
    this.current = { agent, key, baseSensors: new Set(sensors.sensors.map((s) => s.name)) };
    return { agent, fresh: true };
  }

  /** Removes every sensor a case added (RemoveSensor), so the next case starts clean. */
  async removeAddedSensors(): Promise<void> {
    if (!this.current) return;
    const { agent, baseSensors } = this.current;
    const listed = await agent.client.listSensors({});
    for (const sensor of listed.sensors) {
      if (!baseSensors.has(sensor.name)) await agent.client.removeSensor({ name: sensor.name });
    }
  }

  /** Stops the current agent; an unclean stop is kept for the final report. */
  async retire(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    const mark = Math.max(0, current.agent.logMark() - STOP_LOG_LINES);
    const error = await current.agent.stop().then(() => undefined, (e: Error) => e);
    if (error) this.uncleanStops.push([error.message, ...current.agent.logSince(mark)]);
  }
}
