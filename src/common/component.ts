/** A running part of the agent with a life cycle (reader, pipeline, sensors,
 * exporters, the metrics server): stopped after the API server, in reverse
 * order of start. */
export interface Component {
  readonly name: string;
  stop(): Promise<void>;
  /** One line for GetHealth details. */
  describe?(): string;
  healthy?(): boolean;
}
