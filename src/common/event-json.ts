import { toJsonString } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../gen/tetragon/tetragon_pb";

/**
 * One event as one JSON line, the way existing `jq` pipelines expect it:
 * proto3 JSON (uint64 as strings, enums by name, wrappers as bare values,
 * RFC 3339 timestamps, default values omitted) with protobuf field names.
 * JSON escapes every control character, so a line is always one line.
 */
export function formatJsonLine(response: GetEventsResponse): string {
  return toJsonString(GetEventsResponseSchema, response, { useProtoFieldName: true });
}
