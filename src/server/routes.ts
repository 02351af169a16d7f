import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FineGuidanceSensors as TetragonService, file_tetragon_tetragon } from "../../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as FgsService, file_fgs_fgs } from "../../gen/fgs/fgs_pb";
import { createService } from "../api/service";
import { registerAdapted } from "../api/legacy";
import type { ApiDeps } from "../api/deps";
import { withCors } from "./cors";
import { withGrpcEvents, type GrpcEventsOptions } from "./grpc-events";
import { registerReflection } from "./reflection";
import { createProcessInspector, file_fgs_console_v1_console, ProcessInspector } from "../console/processes";
import { withConsole } from "../console/serve";

/** Both editions of the API, served by one implementation, over gRPC, gRPC-web and Connect. */
export function createApiHandler(deps: ApiDeps, options: GrpcEventsOptions = {}) {
  const impl = createService(deps);
  const connect = connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(TetragonService, impl);
      registerAdapted(router, TetragonService, impl as unknown as Record<string, unknown>, FgsService);
      if (deps.processes) router.service(ProcessInspector, createProcessInspector(deps.processes));
      registerReflection(router, [file_tetragon_tetragon, file_fgs_fgs, ...(deps.processes ? [file_fgs_console_v1_console] : [])]);
    },
    grpc: true,
    grpcWeb: true,
    connect: true,
  });
  const api = withCors(withGrpcEvents(deps.events, connect, options));
  // The web console: GET / and its assets, before the API.
  return deps.console ? withConsole(deps.console, api) : api;
}
