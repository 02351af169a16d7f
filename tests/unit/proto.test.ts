import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import * as fgs from "../../gen/fgs/fgs_pb";
import * as tetragon from "../../gen/tetragon/tetragon_pb";

const repoRoot = join(import.meta.dir, "..", "..");
const buf = join(repoRoot, "node_modules/.bin/buf");

function run(argv: string[]): { exitCode: number; output: string } {
  const result = Bun.spawnSync(argv, { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  return {
    exitCode: result.exitCode,
    output: result.stdout.toString() + result.stderr.toString(),
  };
}

function listFiles(root: string, dir: string = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

/** Field numbers present at the top level of an encoded message, in order. */
function topLevelFieldNumbers(bytes: Uint8Array): number[] {
  const reader = new BinaryReader(bytes);
  const numbers: number[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    numbers.push(fieldNo);
    reader.skip(wireType as WireType);
  }
  return numbers;
}

describe("generated code", () => {
  test("gen/ matches what scripts/gen-proto.sh produces from proto/", () => {
    const scratch = mkdtempSync(join(tmpdir(), "fgs-gen-"));
    try {
      const generated = run(["bash", "scripts/gen-proto.sh", scratch]);
      expect(generated.output).toBe("");
      expect(generated.exitCode).toBe(0);
      const committedFiles = listFiles(join(repoRoot, "gen")).sort();
      const freshFiles = listFiles(scratch).sort();
      expect(committedFiles).toEqual(freshFiles);
      for (const file of freshFiles) {
        const committed = readFileSync(join(repoRoot, "gen", file), "utf8");
        const fresh = readFileSync(join(scratch, file), "utf8");
        // A mismatch means gen/ is stale: run `bun run gen`.
        expect({ file, text: committed }).toEqual({ file, text: fresh });
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test("buf lint passes", () => {
    const lint = run([buf, "lint"]);
    expect(lint.output).toBe("");
    expect(lint.exitCode).toBe(0);
  });
});

describe("wire numbers", () => {
  test("GetEventsResponse: test = 40000, node_name = 1000, time = 1001, aggregation_info = 1002", () => {
    const response = create(tetragon.GetEventsResponseSchema, {
      event: { case: "test", value: { arg0: 1n } },
      nodeName: "node1",
      time: { seconds: 1n },
      aggregationInfo: { count: 2n },
    });
    // Encoders write fields in number order, so the oneof's 40000 comes last.
    expect(topLevelFieldNumbers(toBinary(tetragon.GetEventsResponseSchema, response))).toEqual([
      1000, 1001, 1002, 40000,
    ]);
  });

  test("GetEventsResponse event kinds: exec 1, exit 5, kprobe 9, tracepoint 10, dns 14", () => {
    const kinds = [
      ["processExec", 1],
      ["processExit", 5],
      ["processKprobe", 9],
      ["processTracepoint", 10],
      ["processDns", 14],
    ] as const;
    for (const [kind, number] of kinds) {
      const response = create(tetragon.GetEventsResponseSchema, {
        event: { case: kind, value: {} },
      });
      const bytes = toBinary(tetragon.GetEventsResponseSchema, response);
      expect({ kind, numbers: topLevelFieldNumbers(bytes) }).toEqual({ kind, numbers: [number] });
    }
  });

  test("Process fields keep their numbers", () => {
    const process = create(tetragon.ProcessSchema, {
      execId: "x",
      pid: 1,
      binary: "/bin/true",
      parentExecId: "p",
      refcnt: 1,
      ns: {},
    });
    expect(topLevelFieldNumbers(toBinary(tetragon.ProcessSchema, process))).toEqual([1, 2, 5, 12, 13, 15]);
  });

  test("ProcessTracepoint skips 3, ProcessDns reserves 2, Container.maybe_exec_probe = 13", () => {
    // 7, 8, 9, 10: policy_name, action, message, tags under upstream's later numbers (issue 13).
    expect(tetragon.ProcessTracepointSchema.fields.map((field) => field.number)).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
    expect(tetragon.ProcessKprobeSchema.fields.map((field) => field.number)).toEqual([1, 2, 3, 4, 5, 6, 8, 10, 11]);
    expect(tetragon.KprobeArgumentSchema.field.label.number).toBe(18);
    expect(tetragon.ProcessDnsSchema.fields.map((field) => field.number)).toEqual([1, 3, 4, 5]);
    expect(tetragon.ContainerSchema.field.maybeExecProbe.number).toBe(13);
  });

  test("KprobeArgument.long_arg = 11 exists only in package tetragon", () => {
    expect(tetragon.KprobeArgumentSchema.field.longArg.number).toBe(11);
    expect(fgs.KprobeArgumentSchema.fields.map((field) => field.name)).not.toContain("long_arg");
    const argument = create(tetragon.KprobeArgumentSchema, { arg: { case: "longArg", value: -5n } });
    const decoded = fromBinary(tetragon.KprobeArgumentSchema, toBinary(tetragon.KprobeArgumentSchema, argument));
    expect(decoded.arg).toEqual({ case: "longArg", value: -5n });
  });

  test("KPROBE_ACTION_COPYFD = 6 exists only in package tetragon", () => {
    // protoc-gen-es drops the shared KPROBE_ACTION_ prefix in TypeScript; JSON keeps the full name.
    expect(tetragon.KprobeAction.COPYFD).toBe(6);
    const kprobe = create(tetragon.ProcessKprobeSchema, { action: tetragon.KprobeAction.COPYFD });
    expect(toJsonString(tetragon.ProcessKprobeSchema, kprobe)).toBe('{"action":"KPROBE_ACTION_COPYFD"}');
    expect(fgs.KprobeActionSchema.values.map((value) => value.name)).not.toContain("KPROBE_ACTION_COPYFD");
  });

  test("enum names are the seed's, DAC_OVERRIDE without CAP_ prefix", () => {
    const capability = create(tetragon.CapabilitiesSchema, {
      effective: [tetragon.CapabilitiesType.CAP_CHOWN, tetragon.CapabilitiesType.DAC_OVERRIDE],
    });
    expect(toJsonString(tetragon.CapabilitiesSchema, capability)).toBe(
      '{"effective":["CAP_CHOWN","DAC_OVERRIDE"]}',
    );
    expect(tetragon.EventType.TEST).toBe(254);
    expect(tetragon.EventType.PROCESS_DNS).toBe(18);
  });
});

describe("services", () => {
  const expectedMethods = [
    "GetEvents",
    "GetHealth",
    "AddTracingPolicy",
    "RemoveSensor",
    "ListSensors",
    "EnableSensor",
    "DisableSensor",
    "SetSensorConfig",
    "GetSensorConfig",
    "GetStackTraceTree",
    "GetVersion",
    "DeleteTracingPolicy",
  ];

  for (const [packageName, service] of [
    ["tetragon", tetragon.FineGuidanceSensors],
    ["fgs", fgs.FineGuidanceSensors],
  ] as const) {
    test(`${packageName}.FineGuidanceSensors has the seed's methods in order, plus DeleteTracingPolicy`, () => {
      expect(service.typeName).toBe(`${packageName}.FineGuidanceSensors`);
      expect(service.methods.map((method) => method.name)).toEqual(expectedMethods);
      expect(service.method.getEvents.methodKind).toBe("server_streaming");
    });
  }

  test("both packages have the same messages with the same field numbers, apart from long_arg", () => {
    const shape = (file: typeof tetragon.file_tetragon_tetragon): string[] =>
      file.messages.flatMap((message) =>
        message.fields
          .filter((field) => !(message.name === "KprobeArgument" && field.name === "long_arg"))
          .map((field) => `${message.name}.${field.name}=${field.number}`),
      );
    expect(shape(fgs.file_fgs_fgs)).toEqual(shape(tetragon.file_tetragon_tetragon));
    expect(shape(fgs.file_fgs_fgs).length).toBeGreaterThan(150);
  });
});
