import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { KprobeArgumentSchema, ProcessKprobeSchema, GetEventsResponseSchema } from "../gen/tetragon/tetragon_pb";
const N = 1_000_000;
function t(name: string, f: (i: number) => unknown) { const t0 = performance.now(); let x: unknown; for (let i = 0; i < N; i++) x = f(i); console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(3), "µs", typeof x); }
for (let r = 0; r < 2; r++) {
t("create arg", (i) => create(KprobeArgumentSchema, { arg: { case: "intArg", value: i } }));
t("literal arg", (i) => ({ $typeName: KprobeArgumentSchema.typeName, arg: { case: "intArg", value: i } }));
t("create ts", (i) => create(TimestampSchema, { seconds: BigInt(i), nanos: i }));
t("create kprobe", (i) => create(ProcessKprobeSchema, { functionName: "x", args: [], action: 0 }));
t("create resp", (i) => create(GetEventsResponseSchema, { nodeName: "n", event: { case: "processKprobe", value: create(ProcessKprobeSchema, {}) } }));
t("bigint", (i) => BigInt(i) / 1_000_000_000n);
}
