import { clientVersion } from "../../common/build-info";
import { EXIT_OK } from "../../common/errors";
import { writeLine } from "../io";
import { escapeForTerminal } from "../output";
import { UNARY_CALL_OPTIONS, type Command } from "./command";

export const versionCommand: Command = {
  path: ["version"],
  summary: "Print the version of this client and of the agent",
  positionals: [],
  flags: [{ name: "client", description: "Print only the client's version; do not contact the agent" }],
  async run({ args, io, agent }) {
    await writeLine(io.stdout, `client: ${clientVersion()}`);
    if (args.isTrue("client")) return EXIT_OK;
    const response = await agent().getVersion({}, UNARY_CALL_OPTIONS);
    await writeLine(io.stdout, `agent:  ${escapeForTerminal(response.version)}`);
    return EXIT_OK;
  },
};
