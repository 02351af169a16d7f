import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FineGuidanceSensors as TetragonService, file_tetragon_tetragon } from "../../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as FgsService, file_fgs_fgs } from "../../gen/fgs/fgs_pb";
import { createService } from "../api/service";
import { registerAdapted } from "../api/legacy";
import type { ApiDeps } from "../api/deps";
import type { Handler } from "./deny";
import { SERVER_LIMITS } from "./limits";
import { boundedErrors, withInputErrors } from "./answers";
import { withGrpcEvents, type GrpcEventsOptions } from "./grpc-events";
import { registerReflection } from "./reflection";
import { createProcessInspector, file_fgs_console_v1_console, ProcessInspector } from "../console/processes";
import { withConsole } from "../console/serve";

/** Both editions of the API, served by one implementation, over gRPC, gRPC-web
 * and Connect. `guard` (src/server/guard.ts) runs for every request before any
 * route: the console's files, the GetEvents shared-bytes path, connect-node. */
export function createApiHandler(deps: ApiDeps, guard: (routes: Handler) => Handler, options: GrpcEventsOptions = {}): Handler {
  const impl = createService(deps);
  const connect = connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(TetragonService, impl);
      registerAdapted(router, TetragonService, impl as unknown as Record<string, unknown>, FgsService);
      if (deps.processes) router.service(ProcessInspector, createProcessInspector(deps.processes));
      registerReflection(router, [file_tetragon_tetragon, file_fgs_fgs, ...(deps.processes ? [file_fgs_console_v1_console] : [])]);
      router.handlers.forEach((h, i) => (router.handlers[i] = withInputErrors(h)));
    },
    interceptors: [boundedErrors],
    // Unknown fields and enum names (event_set "PROCESS_EXECC") are refused, never dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // Cut while reading; the guard checks Content-Length before the first byte.
    readMaxBytes: SERVER_LIMITS.policyRequestBodyBytes,
    grpc: true,
    grpcWeb: true,
    connect: true,
  });
  const api = withGrpcEvents(deps.events, connect, options);
  return guard(deps.console ? withConsole(deps.console, api) : api);
}
