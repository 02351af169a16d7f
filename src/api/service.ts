import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  FineGuidanceSensors,
  GetHealthStatusResponseSchema,
  HealthStatusSchema,
  HealthStatusType,
  ListSensorsResponseSchema,
  SensorStatusSchema,
} from "../../gen/tetragon/tetragon_pb";
import type { ApiDeps, PolicyService } from "./deps";

function policiesOrUnimplemented(deps: ApiDeps, method: string): PolicyService {
  if (!deps.policies) throw new ConnectError(`${method} is not implemented yet: tracing policies are not available in this build`, Code.Unimplemented);
  return deps.policies;
}

/** The FineGuidanceSensors implementation, written once against package `tetragon`. */
export function createService(deps: ApiDeps): ServiceImpl<typeof FineGuidanceSensors> {
  return {
    async *getEvents(req, ctx) {
      yield* deps.events.subscribe(req, ctx.signal);
    },
    getHealth(req) {
      const wanted = req.eventSet.length === 0 || req.eventSet.includes(HealthStatusType.STATUS);
      const health = deps.health();
      const entry = (details: string) =>
        create(HealthStatusSchema, { event: HealthStatusType.STATUS, status: health.status, details });
      const details = health.diagnostics === undefined ? [health.details] : [health.details, health.diagnostics];
      const statuses = wanted ? details.map(entry) : [];
      return create(GetHealthStatusResponseSchema, { healthStatus: statuses });
    },
    async addTracingPolicy(req) {
      await policiesOrUnimplemented(deps, "AddTracingPolicy").add(req.yaml);
      return {};
    },
    async deleteTracingPolicy(req) {
      await policiesOrUnimplemented(deps, "DeleteTracingPolicy").delete(req.yaml);
      return {};
    },
    async removeSensor(req) {
      await deps.sensors.remove(req.name);
      return {};
    },
    listSensors() {
      const sensors = deps.sensors.list().map((s) => create(SensorStatusSchema, { name: s.name, enabled: s.enabled }));
      return create(ListSensorsResponseSchema, { sensors });
    },
    async enableSensor(req) {
      await deps.sensors.enable(req.name);
      return {};
    },
    async disableSensor(req) {
      await deps.sensors.disable(req.name);
      return {};
    },
    async setSensorConfig(req) {
      await deps.sensors.setConfig(req.name, req.cfgkey, req.cfgval);
      return {};
    },
    getSensorConfig(req) {
      return { cfgval: deps.sensors.getConfig(req.name, req.cfgkey) };
    },
    getStackTraceTree() {
      throw new ConnectError("GetStackTraceTree is not implemented: fgs does not collect stack traces", Code.Unimplemented);
    },
    getVersion() {
      return { version: deps.version };
    },
  };
}
