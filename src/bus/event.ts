/** One event on the bus: the message (for filters, JSON and connect-node
 * streams) and its wire bytes, encoded at most once per edition however
 * many streams carry it. Immutable once published.
 *
 * A policy event may come with its bytes written straight from the kernel
 * record (src/decode/generic-wire.ts) and its message built only when some
 * consumer asks (a filter, JSON, connect-node): a gRPC stream with no
 * filter never builds it. */
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { downgradeEvent, encodeResponse, encoderGeneration, hasLongArg, type Output } from "./encode";

export type Edition = "tetragon" | "fgs";

export type EventCase = GetEventsResponse["event"]["case"];

/** A event known by how to build it, and by its bytes written directly. */
export interface LazyEventSource {
  readonly eventCase: EventCase;
  /** whether an argument is a long_arg (the fgs edition then differs) */
  readonly hasLongArg: boolean;
  build(): GetEventsResponse;
  encode(output: Output): Uint8Array;
}

export class AgentEvent {
  private built: GetEventsResponse | undefined;
  private bytes: Uint8Array | undefined;
  private legacyBytes: Uint8Array | undefined;
  /** The encoder's shared bytes of this event, and the generation they are valid in. */
  private view: Uint8Array | undefined;
  private viewGeneration = -1;
  private readonly source: LazyEventSource | undefined;

  constructor(message: GetEventsResponse | LazyEventSource) {
    if ("$typeName" in message) this.built = message;
    else this.source = message;
  }

  get message(): GetEventsResponse {
    return (this.built ??= (this.source as LazyEventSource).build());
  }

  /** The event's kind without building its message. */
  get eventCase(): EventCase {
    return this.built !== undefined ? this.built.event.case : (this.source as LazyEventSource).eventCase;
  }

  /** Events it stands for (an aggregate counts each occurrence); a policy
   * event from its record is one, without building its message. */
  get weight(): number {
    return this.built !== undefined ? Number(this.built.aggregationInfo?.count ?? 1n) : 1;
  }

  /** GetEventsResponse wire bytes for an edition of the API. */
  encoded(edition: Edition = "tetragon"): Uint8Array {
    if (edition === "fgs") return (this.legacyBytes ??= this.longArg() ? encodeResponse(downgradeEvent(this.message)) : this.encoded());
    return (this.bytes ??= this.viewIsCurrent() ? (this.view as Uint8Array).slice() : this.encode("copy"));
  }

  /** The same bytes, valid only until the next event is encoded: for a
   * consumer that copies them at once (a stream's ring), so that an event
   * carried by such streams alone never allocates bytes of its own. Every
   * stream of one publish gets the same view. */
  encodedForCopy(edition: Edition = "tetragon"): Uint8Array {
    if (this.bytes !== undefined) return this.bytes;
    if (edition === "fgs" && this.longArg()) return this.encoded(edition);
    if (!this.viewIsCurrent()) {
      this.view = this.encode("view");
      this.viewGeneration = encoderGeneration();
    }
    return this.view as Uint8Array;
  }

  private encode(output: Output): Uint8Array {
    return this.source !== undefined ? this.source.encode(output) : encodeResponse(this.message, output);
  }

  private viewIsCurrent(): boolean {
    return this.view !== undefined && this.viewGeneration === encoderGeneration();
  }

  private longArg(): boolean {
    return this.source !== undefined ? this.source.hasLongArg : hasLongArg(this.message);
  }
}
