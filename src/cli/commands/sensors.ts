import type { SensorStatus } from "../../../gen/tetragon/tetragon_pb";
import { EXIT_OK } from "../../common/errors";
import { writeLine } from "../io";
import { escapeForTerminal } from "../output";
import { UNARY_CALL_OPTIONS, type Command } from "./command";

const sensorName = { name: "NAME", description: "the sensor's name, as `fgs sensors list` shows it" } as const;

export const sensorsListCommand: Command = {
  path: ["sensors", "list"],
  summary: "List the agent's sensors and whether each is enabled",
  positionals: [],
  flags: [],
  async run({ io, agent }) {
    const response = await agent().listSensors({}, UNARY_CALL_OPTIONS);
    for (const line of sensorTable(response.sensors)) await writeLine(io.stdout, line);
    return EXIT_OK;
  },
};

/** One sensor per line, the state in a second aligned column. */
export function sensorTable(sensors: readonly SensorStatus[]): string[] {
  const names = sensors.map((sensor) => escapeForTerminal(sensor.name));
  const width = Math.max(0, ...names.map((name) => name.length));
  return sensors.map((sensor, index) => `${(names[index] ?? "").padEnd(width)}  ${sensor.enabled ? "enabled" : "disabled"}`);
}

export const sensorsEnableCommand: Command = {
  path: ["sensors", "enable"],
  summary: "Enable a sensor: attach its hooks",
  positionals: [sensorName],
  flags: [],
  examples: ["fgs sensors enable test"],
  async run({ args, io, agent }) {
    const name = args.positionals[0] ?? "";
    await agent().enableSensor({ name }, UNARY_CALL_OPTIONS);
    await writeLine(io.stdout, `sensor ${escapeForTerminal(name)} enabled`);
    return EXIT_OK;
  },
};

export const sensorsDisableCommand: Command = {
  path: ["sensors", "disable"],
  summary: "Disable a sensor: detach its hooks (it stays listed)",
  positionals: [sensorName],
  flags: [],
  examples: ["fgs sensors disable test"],
  async run({ args, io, agent }) {
    const name = args.positionals[0] ?? "";
    await agent().disableSensor({ name }, UNARY_CALL_OPTIONS);
    await writeLine(io.stdout, `sensor ${escapeForTerminal(name)} disabled`);
    return EXIT_OK;
  },
};
