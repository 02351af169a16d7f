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

/** Both editions of the API, served by one implementation, over gRPC, gRPC-web and Connect. */
export function createApiHandler(deps: ApiDeps, options: GrpcEventsOptions = {}) {
  const impl = createService(deps);
  const connect = connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(TetragonService, impl);
      registerAdapted(router, TetragonService, impl as unknown as Record<string, unknown>, FgsService);
      registerReflection(router, [file_tetragon_tetragon, file_fgs_fgs]);
    },
    grpc: true,
    grpcWeb: true,
    connect: true,
  });
  return withCors(withGrpcEvents(deps.events, connect, options));
}
