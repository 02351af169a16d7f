import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { formatJsonLine } from "../common/event-json";

/** THE event → export line conversion (without the newline): the same JSON as
 * `fgs getevents -o json`. When events carry pre-encoded JSON, switch it here. */
export function eventLine(ev: GetEventsResponse): string {
  return formatJsonLine(ev);
}
