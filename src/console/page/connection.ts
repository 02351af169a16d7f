import { Code, ConnectError } from "@connectrpc/connect";
import type { Api } from "./api";
import { errorText } from "./dom";

const POLL_UP_MS = 2000;
const POLL_DOWN_MS = 1000;

/** Tracks whether the agent answers; shows a banner while it does not and
 * wakes waiting streams when it answers again. */
export class Connection {
  private downSince: Date | undefined;
  private waiters: (() => void)[] = [];
  private attempts = 0;
  private hideTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly api: Api,
    private readonly banner: HTMLElement,
  ) {}

  get up(): boolean {
    return this.downSince === undefined;
  }

  /** Polls GetHealth forever; `onHealth` sees each answer. */
  start(onHealth: (h: Awaited<ReturnType<Api["fgs"]["getHealth"]>>) => void): void {
    const tick = async () => {
      try {
        const health = await this.api.fgs.getHealth({}, { timeoutMs: 3000 });
        this.ok();
        onHealth(health);
      } catch (e) {
        this.failed(e);
      }
      setTimeout(tick, this.up ? POLL_UP_MS : POLL_DOWN_MS);
    };
    void tick();
  }

  ok(): void {
    if (this.up) return;
    this.downSince = undefined;
    this.attempts = 0;
    this.show("ok", "Agent reachable again: reconnected.");
    this.hideTimer = setTimeout(() => (this.banner.hidden = true), 3000);
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  failed(e: unknown): void {
    this.downSince ??= new Date();
    this.attempts++;
    if (e instanceof ConnectError && (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied)) {
      this.show("down", "Not signed in to this agent (no session, or it expired with a restart): open the login URL the agent printed. Retrying…");
      return;
    }
    const since = this.downSince.toLocaleTimeString([], { hour12: false });
    this.show("down", `Agent unreachable since ${since} (${errorText(e)}). Reconnecting automatically (attempt ${this.attempts})…`);
  }

  /** Resolves when the agent answers again (immediately if it does). */
  whenUp(signal: AbortSignal): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  private show(kind: "ok" | "down", text: string): void {
    clearTimeout(this.hideTimer);
    this.banner.hidden = false;
    this.banner.className = `banner banner-${kind}`;
    this.banner.textContent = text;
  }
}
