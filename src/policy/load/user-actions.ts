/** Actions of the current TracingPolicy language that the agent does, not the
 * kernel: GetUrl (an HTTP GET) and DnsLookup (resolve a name), e.g. to tell an
 * outside service that a selector matched. One request at a time per hook and
 * selector: records arriving while it runs do not start another. */
import { lookup } from "node:dns/promises";
import type { Logger } from "../../log/logger";

export type UserAction = { readonly kind: "GetUrl"; readonly url: string } | { readonly kind: "DnsLookup"; readonly fqdn: string };

const TIMEOUT_MS = 5000;

export class UserActions {
  private readonly running = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Starts the actions unless the same selector's are still running. */
  run(key: string, policy: string, actions: readonly UserAction[]): void {
    if (actions.length === 0 || this.running.has(key)) return;
    this.running.add(key);
    void Promise.all(actions.map((a) => this.one(policy, a))).finally(() => this.running.delete(key));
  }

  private async one(policy: string, a: UserAction): Promise<void> {
    try {
      if (a.kind === "GetUrl") {
        const res = await fetch(a.url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
        await res.body?.cancel();
        this.log.info("policy action done", { policy, action: a.kind, url: a.url, status: res.status });
      } else {
        const { address } = await lookup(a.fqdn);
        this.log.info("policy action done", { policy, action: a.kind, fqdn: a.fqdn, address });
      }
    } catch (e) {
      this.log.warn("policy action failed", { policy, action: a.kind, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
