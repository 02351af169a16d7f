import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FineGuidanceSensors as TetragonService } from "../../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as FgsService } from "../../gen/fgs/fgs_pb";
import { createService } from "../api/service";
import { registerAdapted } from "../api/legacy";
import type { ApiDeps } from "../api/deps";
import { withCors } from "./cors";

/** Both editions of the API, served by one implementation, over gRPC, gRPC-web and Connect. */
export function createApiHandler(deps: ApiDeps) {
  const impl = createService(deps);
  return withCors(connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(TetragonService, impl);
      registerAdapted(router, TetragonService, impl as unknown as Record<string, unknown>, FgsService);
    },
    grpc: true,
    grpcWeb: true,
    connect: true,
  }));
}
