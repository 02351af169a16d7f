// Issue 14, server reflection: `buf curl` (a real reflection client) lists
// and calls both services without any schema, over reflection v1 and v1alpha.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startAgent, ROOT, type RunningAgent } from "./helpers/agent";

const BUF = join(ROOT, "node_modules/.bin/buf");
let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent?.stop();
});

function bufCurl(...args: string[]) {
  const r = spawnSync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--list-methods lists both editions of the API and reflection itself (v1 and v1alpha)", () => {
  for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
    const r = bufCurl("--reflect-protocol", protocol, "--list-methods", agent.baseUrl);
    expect({ protocol, status: r.status, stderr: r.stderr }).toEqual({ protocol, status: 0, stderr: "" });
    const methods = r.stdout.trim().split("\n");
    for (const svc of ["tetragon.FineGuidanceSensors", "fgs.FineGuidanceSensors"]) {
      for (const m of ["GetEvents", "GetHealth", "AddTracingPolicy", "ListSensors", "GetVersion", "DeleteTracingPolicy"]) expect(methods).toContain(`${svc}/${m}`);
    }
    expect(methods).toContain("grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    expect(methods).toContain("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  }
});

test("calls without --schema: the client learns the request and response types by reflection", () => {
  const version = bufCurl(`${agent.baseUrl}/tetragon.FineGuidanceSensors/GetVersion`);
  expect(version.status).toBe(0);
  expect(JSON.parse(version.stdout).version).toMatch(/^\d+\.\d+\.\d+\+/);
  const sensors = bufCurl("--reflect-protocol", "grpc-v1alpha", `${agent.baseUrl}/fgs.FineGuidanceSensors/ListSensors`);
  expect(sensors.status).toBe(0);
  expect(JSON.parse(sensors.stdout).sensors).toContainEqual({ name: "process", enabled: true });
  // A request body is encoded from its reflected type: enum names and nested messages.
  const health = bufCurl("-d", '{"event_set":["HEALTH_STATUS_TYPE_STATUS"]}', `${agent.baseUrl}/tetragon.FineGuidanceSensors/GetHealth`);
  expect(health.status).toBe(0);
  expect(JSON.parse(health.stdout).healthStatus[0].status).toBe("HEALTH_STATUS_RUNNING");
  const config = bufCurl("-d", '{"name":"process","cfgkey":"nope"}', `${agent.baseUrl}/fgs.FineGuidanceSensors/GetSensorConfig`);
  expect(config.status).not.toBe(0);
  expect(config.stderr).not.toContain("reflect");
});

test("an unknown service is reported as not found by reflection", () => {
  const r = bufCurl(`${agent.baseUrl}/tetragon.Nope/GetVersion`);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("tetragon.Nope");
});
