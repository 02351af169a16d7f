import { describe, expect, test } from "bun:test";
import { EventType } from "../../gen/tetragon/tetragon_pb";
import { parseArguments } from "../../src/cli/args";
import { buildGetEventsRequest, GETEVENTS_FLAGS } from "../../src/cli/commands/getevents";
import { parseDurationMs } from "../../src/cli/commands/getevents-filters";
import { UsageError } from "../../src/common/errors";

const request = (...argv: string[]) => buildGetEventsRequest(parseArguments(argv, GETEVENTS_FLAGS, []));

describe("getevents filter flags", () => {
  test("no flags: no filters, no aggregation", () => {
    const r = request();
    expect(r.allowList).toEqual([]);
    expect(r.denyList).toEqual([]);
    expect(r.aggregationOptions).toBeUndefined();
  });

  test("allow flags make one filter: fields ANDed, repeated and comma values ORed", () => {
    const r = request(
      "--binary", "^/usr/bin/curl$", "--binary", "wget",
      "--pid", "10,11", "--pid", "12",
      "--pid-set", "1",
      "--namespace", "default,kube-system",
      "--health-check", "false",
      "--event-types", "process_exec,PROCESS_EXIT", "--event-types", "test",
    );
    expect(r.denyList).toEqual([]);
    expect(r.allowList.length).toBe(1);
    const f = r.allowList[0];
    expect(f?.binaryRegex).toEqual(["^/usr/bin/curl$", "wget"]);
    expect(f?.pid).toEqual([10, 11, 12]);
    expect(f?.pidSet).toEqual([1]);
    expect(f?.namespace).toEqual(["default", "kube-system"]);
    expect(f?.healthCheck).toBe(false);
    expect(f?.eventSet).toEqual([EventType.PROCESS_EXEC, EventType.PROCESS_EXIT, EventType.TEST]);
  });

  test("--deny-* flags make one deny filter", () => {
    const r = request("--deny-binary", "sh$", "--deny-event-types", "process_exit", "--deny-health-check", "true", "--deny-pid-set", "5");
    expect(r.allowList).toEqual([]);
    const f = r.denyList[0];
    expect(f?.binaryRegex).toEqual(["sh$"]);
    expect(f?.eventSet).toEqual([EventType.PROCESS_EXIT]);
    expect(f?.healthCheck).toBe(true);
    expect(f?.pidSet).toEqual([5]);
    expect(f?.pid).toEqual([]);
  });

  test("a host-only namespace filter is the empty namespace", () => {
    expect(request("--namespace", "").allowList[0]?.namespace).toEqual([""]);
  });

  test("aggregation flags", () => {
    expect(request("--aggregate").aggregationOptions?.windowSize).toBeUndefined();
    const w = request("--aggregate-window", "1.5s").aggregationOptions?.windowSize;
    expect([w?.seconds, w?.nanos]).toEqual([1n, 500_000_000]);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseDurationMs("2m")).toBe(120_000);
    expect(parseDurationMs("0s")).toBeUndefined();
    expect(parseDurationMs("5")).toBeUndefined();
  });

  test("bad values are usage errors before anything is sent", () => {
    for (const [argv, message] of [
      [["--binary", "a(?=b)"], /--binary "a\(\?=b\)": not an RE2 expression: lookahead/],
      [["--deny-binary", "(x"], /missing closing \)/],
      [["--pid", "12a"], /"12a" is not a pid/],
      [["--pid-set", "4294967296"], /is not a pid/],
      [["--event-types", "process_exec,nope"], /unknown event type "nope"/],
      [["--health-check", "maybe"], /must be one of true, false/],
      [["--aggregate-window", "soon"], /not a duration/],
    ] as const) {
      expect(() => request(...argv)).toThrow(UsageError);
      expect(() => request(...argv)).toThrow(message);
    }
  });
});

describe("getevents --help", () => {
  test("lists the filter flags and shows examples", async () => {
    const proc = Bun.spawn(["./node_modules/.bin/bun", "src/main.ts", "getevents", "--help"], { stdout: "pipe", cwd: `${import.meta.dir}/../..` });
    const help = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    for (const flag of ["--binary REGEX", "--pid N", "--pid-set N", "--event-types TYPES", "--namespace NS", "--health-check", "--deny-binary", "--deny-pid-set", "--aggregate-window"]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain("fgs getevents --binary '^/usr/bin/curl$'");
    expect(help).toContain("fgs getevents --pid-set 1234");
    expect(help).toContain("--event-types process_exec,process_exit");
  });
});
