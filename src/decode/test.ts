/** Decoder for the test sensor's record (bpf/test_sensor.bpf.c,
 * struct fgs_test_record): the common header plus four u64 arguments. */
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { GetEventsResponseSchema, TestSchema } from "../../gen/tetragon/tetragon_pb.ts";
import type { GetEventsResponse } from "../../gen/tetragon/tetragon_pb.ts";

import { HEADER, OP_TEST } from "./records";

export { OP_TEST };

/** struct fgs_test_record */
export const TEST_RECORD = { ...HEADER, arg0: 16, arg1: 24, arg2: 32, arg3: 40, bytes: 48 } as const;

export interface TestRecord {
  readonly ktime: bigint;
  /** Caller tgid, caller tid, CPU, per-CPU sequence number. */
  readonly args: readonly [bigint, bigint, bigint, bigint];
}

export class TestRecordError extends Error {}

export function decodeTestRecord(bytes: Uint8Array): TestRecord {
  if (bytes.byteLength < TEST_RECORD.bytes) {
    throw new TestRecordError(`test record too short: ${bytes.byteLength} < ${TEST_RECORD.bytes} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = v.getUint32(TEST_RECORD.op, true);
  if (op !== OP_TEST) throw new TestRecordError(`not a test record: op ${op}`);
  const u64 = (off: number): bigint => v.getBigUint64(off, true);
  return {
    ktime: u64(TEST_RECORD.ktime),
    args: [u64(TEST_RECORD.arg0), u64(TEST_RECORD.arg1), u64(TEST_RECORD.arg2), u64(TEST_RECORD.arg3)],
  };
}

export interface TestEventContext {
  readonly nodeName: string;
  /** Boot-clock ns to wall clock (src/bpf/clock.ts). */
  bootNsToTimestamp(ns: bigint): { seconds: bigint; nanos: number };
}

/** The API event for one test record (EventType TEST). */
export function testEvent(bytes: Uint8Array, ctx: TestEventContext): GetEventsResponse {
  const rec = decodeTestRecord(bytes);
  const [arg0, arg1, arg2, arg3] = rec.args;
  return create(GetEventsResponseSchema, {
    event: { case: "test", value: create(TestSchema, { arg0, arg1, arg2, arg3 }) },
    nodeName: ctx.nodeName,
    time: create(TimestampSchema, ctx.bootNsToTimestamp(rec.ktime)),
  });
}
