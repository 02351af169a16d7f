import type { GetEventsResponse } from "../../../gen/tetragon/tetragon_pb";
import type { AgentClient } from "./client";

type Selector<T> = (event: GetEventsResponse) => T | undefined;

interface Waiter {
  readonly check: (event: GetEventsResponse) => boolean;
  readonly fail: (error: Error) => void;
}

/** Every event of one GetEvents stream, kept so cases can wait for one. */
export class EventLog {
  private readonly events: GetEventsResponse[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly abort = new AbortController();
  private streamError: Error | undefined;

  constructor(client: AgentClient) {
    void this.consume(client);
  }

  get count(): number {
    return this.events.length;
  }

  /** The first event, past or future, that `select` maps to a value. */
  waitFor<T>(what: string, timeoutMs: number, select: Selector<T>): Promise<T> {
    for (const event of this.events) {
      const found = select(event);
      if (found !== undefined) return Promise.resolve(found);
    }
    if (this.streamError) return Promise.reject(this.streamError);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: (event) => {
          const found = select(event);
          if (found === undefined) return false;
          done();
          resolve(found);
          return true;
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(new Error(`no ${what} within ${timeoutMs} ms (${this.events.length} events seen)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Every event so far that `select` maps to a value. */
  all<T>(select: Selector<T>): T[] {
    return this.events.map(select).filter((v): v is T => v !== undefined);
  }

  close(): void {
    this.abort.abort();
  }

  private async consume(client: AgentClient): Promise<void> {
    try {
      for await (const event of client.getEvents({}, { signal: this.abort.signal })) {
        this.events.push(event);
        for (const waiter of [...this.waiters]) waiter.check(event);
      }
      this.streamError = new Error("the GetEvents stream ended");
    } catch (e) {
      this.streamError = new Error(`the GetEvents stream failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.abort.signal.aborted) return;
    for (const waiter of [...this.waiters]) waiter.fail(this.streamError);
  }
}
