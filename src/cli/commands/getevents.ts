import { create } from "@bufbuild/protobuf";
import {
  GetEventsRequestSchema,
  type GetEventsRequest,
  type GetEventsResponse,
} from "../../../gen/tetragon/tetragon_pb";
import type { FlagSpec, ParsedArguments } from "../args";
import { EXIT_OK } from "../../common/errors";
import { whenStreamFails, writeLine, type OutputStream } from "../io";
import { formatCompactLine, formatJsonLine } from "../output";
import type { Command } from "./command";
import { aggregationFromFlags, FILTER_EXAMPLES, FILTER_FLAGS, filtersFromFlags } from "./getevents-filters";

/** Flags of `fgs getevents`: output, then the filter flags (./getevents-filters.ts). */
export const GETEVENTS_FLAGS: readonly FlagSpec[] = [
  {
    name: "output",
    short: "o",
    valueName: "json|compact",
    choices: ["json", "compact"],
    defaultValue: "json",
    description: "json: one JSON object per line (protobuf field names); compact: one human line per event",
  },
  {
    name: "color",
    valueName: "auto|always|never",
    choices: ["auto", "always", "never"],
    defaultValue: "auto",
    description: "Colour the compact output: auto colours only on a terminal (and not when NO_COLOR is set)",
  },
  ...FILTER_FLAGS,
];

/** The request the flags ask for: filters and aggregation (docs/filters.md). */
export function buildGetEventsRequest(args: ParsedArguments): GetEventsRequest {
  return create(GetEventsRequestSchema, { ...filtersFromFlags(args), aggregationOptions: aggregationFromFlags(args) });
}

export type EventFormatter = (response: GetEventsResponse) => string;

export function eventFormatter(args: ParsedArguments, stdout: OutputStream): EventFormatter {
  if (args.value("output") === "compact") {
    const colour = resolveColour(args.value("color"), stdout);
    return (response) => formatCompactLine(response, { colour });
  }
  return formatJsonLine;
}

export function resolveColour(mode: string | undefined, stdout: OutputStream): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  return stdout.isTTY === true && !process.env.NO_COLOR;
}

export const getEventsCommand: Command = {
  path: ["getevents"],
  summary: "Stream the agent's events, one per line, until the agent ends the stream or you stop it",
  positionals: [],
  flags: GETEVENTS_FLAGS,
  examples: [
    "fgs getevents",
    "fgs getevents -o compact",
    "fgs getevents -o json | jq .process_exec.process.binary",
    ...FILTER_EXAMPLES,
  ],
  async run({ args, io, agent }) {
    const format = eventFormatter(args, io.stdout);
    const abort = new AbortController();
    // When the reader of our output goes away (`| head`), stop quietly.
    const stdoutFailure = whenStreamFails(io.stdout);
    void stdoutFailure.failed.then(() => abort.abort());
    try {
      for await (const response of agent().getEvents(buildGetEventsRequest(args), { signal: abort.signal })) {
        // A closed pipe never drains: stop waiting when stdout fails.
        await Promise.race([writeLine(io.stdout, format(response)), stdoutFailure.failed]);
        if (abort.signal.aborted) break;
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      stdoutFailure.dispose();
    }
    return EXIT_OK;
  },
};
