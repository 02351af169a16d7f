import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../gen/tetragon/tetragon_pb";
import { downgradeEvent } from "../bus/encode";

type Unary = (req: unknown, ctx: HandlerContext) => unknown;
type Streaming = (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;

/** Re-encodes a message of one package as the same wire bytes in another. The
 * `fgs` edition has the same field numbers as `tetragon`, so this is exact for
 * every field both know; fields `fgs` lacks (long_arg) are carried as unknown fields. */
function reencode<A extends DescMessage, B extends DescMessage>(from: A, to: B, msg: MessageInitShape<A>): MessageShape<B> {
  return fromBinary(to, toBinary(from, create(from, msg)));
}

function findMethod(service: DescService, name: string): DescMethod {
  const m = service.methods.find((x) => x.name === name);
  if (!m) throw new Error(`${service.typeName} has no method ${name}`);
  return m;
}

/** Serves `target` (e.g. fgs.FineGuidanceSensors) with the implementation of
 * `source` (tetragon.FineGuidanceSensors): one implementation, two packages. */
export function registerAdapted(router: ConnectRouter, source: DescService, impl: Record<string, unknown>, target: DescService): void {
  for (const tm of target.methods) {
    const sm = findMethod(source, tm.name);
    const fn = impl[sm.localName];
    if (typeof fn !== "function") continue;
    const toSource = (req: unknown) => reencode(tm.input, sm.input, req as MessageInitShape<DescMessage>);
    const downgrade = sm.output.typeName === GetEventsResponseSchema.typeName ? (r: unknown) => downgradeEvent(create(GetEventsResponseSchema, r as GetEventsResponse)) : (r: unknown) => r;
    const toTarget = (res: unknown) => reencode(sm.output, tm.output, downgrade(res) as MessageInitShape<DescMessage>);
    if (tm.methodKind === "server_streaming") {
      const stream = fn.bind(impl) as Streaming;
      router.rpc(tm, async function* (req: unknown, ctx: HandlerContext) {
        for await (const res of stream(toSource(req), ctx)) yield toTarget(res);
      } as never);
    } else {
      const unary = fn.bind(impl) as Unary;
      router.rpc(tm, (async (req: unknown, ctx: HandlerContext) => toTarget(await unary(toSource(req), ctx))) as never);
    }
  }
}
