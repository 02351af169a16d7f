/** One event on the bus: the message (for filters, JSON and connect-node
 * streams) and its wire bytes, encoded at most once per edition however
 * many streams carry it. Immutable once published. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { downgradeEvent, encodeResponse, hasLongArg } from "./encode";

export type Edition = "tetragon" | "fgs";

export class AgentEvent {
  private bytes: Uint8Array | undefined;
  private legacyBytes: Uint8Array | undefined;

  constructor(readonly message: GetEventsResponse) {}

  /** GetEventsResponse wire bytes for an edition of the API. */
  encoded(edition: Edition = "tetragon"): Uint8Array {
    if (edition === "fgs") return (this.legacyBytes ??= hasLongArg(this.message) ? encodeResponse(downgradeEvent(this.message)) : this.encoded());
    return (this.bytes ??= encodeResponse(this.message));
  }
}
