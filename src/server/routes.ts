import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FineGuidanceSensors as TetragonService } from "../../gen/tetragon/tetragon_pb";
import { FineGuidanceSensors as FgsService } from "../../gen/fgs/fgs_pb";
import { createService } from "../api/service";
import { registerAdapted } from "../api/legacy";
import type { ApiDeps } from "../api/deps";
import type { Handler } from "./deny";
import { SERVER_LIMITS } from "./limits";
import { boundedErrors, withInputErrors } from "./answers";

/** Both editions of the API, served by one implementation, over gRPC, gRPC-web
 * and Connect. `guard` (src/server/guard.ts) runs for every request before any route. */
export function createApiHandler(deps: ApiDeps, guard: (routes: Handler) => Handler): Handler {
  const impl = createService(deps);
  return guard(connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(TetragonService, impl);
      registerAdapted(router, TetragonService, impl as unknown as Record<string, unknown>, FgsService);
      router.handlers.forEach((h, i) => (router.handlers[i] = withInputErrors(h)));
    },
    interceptors: [boundedErrors],
    // Unknown fields and enum names (event_set "PROCESS_EXECC") are refused, never dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // Cut while reading; the guard checks Content-Length before the first byte.
    readMaxBytes: SERVER_LIMITS.policyRequestBodyBytes,
    grpc: {},
    grpcWeb: {},
    connect: {},
  }));
}
