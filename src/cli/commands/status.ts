import { HealthStatusResult, HealthStatusResultSchema, type HealthStatus } from "../../../gen/tetragon/tetragon_pb";
import { EXIT_FAILURE, EXIT_OK } from "../../common/errors";
import { writeLine, type OutputStream } from "../io";
import { escapeForTerminal } from "../output";
import { UNARY_CALL_OPTIONS, type Command } from "./command";

export const statusCommand: Command = {
  path: ["status"],
  summary: "Print the agent's health: its status and details (sensors, lost events, ...)",
  positionals: [],
  flags: [],
  examples: [
    "fgs status",
    "fgs status --server-address unix:/run/fgs/fgs.sock",
    "fgs status --server-address node1.example:54321 --tls-ca-file ca.pem --token-file ~/.config/fgs/token",
  ],
  async run({ io, agent }) {
    const response = await agent().getHealth({}, UNARY_CALL_OPTIONS);
    for (const health of response.healthStatus) await printHealth(io.stdout, health);
    const running = response.healthStatus.length > 0 && response.healthStatus.every(isRunning);
    // Scripts can test `fgs status` directly: non-zero when the agent is not running well.
    return running ? EXIT_OK : EXIT_FAILURE;
  },
};

function isRunning(health: HealthStatus): boolean {
  return health.status === HealthStatusResult.HEALTH_STATUS_RUNNING;
}

async function printHealth(stdout: OutputStream, health: HealthStatus): Promise<void> {
  await writeLine(stdout, `status: ${statusWord(health.status)}`);
  const detailLines = health.details.split("\n").filter((line) => line !== "");
  if (detailLines.length === 1) await writeLine(stdout, `details: ${escapeForTerminal(detailLines[0] ?? "")}`);
  if (detailLines.length > 1) {
    await writeLine(stdout, "details:");
    for (const line of detailLines) await writeLine(stdout, `  ${escapeForTerminal(line)}`);
  }
}

/** HEALTH_STATUS_RUNNING → "running". */
function statusWord(status: HealthStatusResult): string {
  const name = HealthStatusResultSchema.value[status]?.name ?? `unknown (${status})`;
  return name.replace(/^HEALTH_STATUS_/, "").toLowerCase();
}
