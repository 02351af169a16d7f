import { describe, expect, test } from "bun:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  CapabilitiesType,
  GetEventsResponseSchema,
  KprobeAction,
  type GetEventsResponse,
} from "../../gen/tetragon/tetragon_pb";
import { escapeForTerminal, formatCompactLine, formatJsonLine } from "../../src/cli/output";

type ResponseInit = MessageInitShape<typeof GetEventsResponseSchema>;

function response(init: ResponseInit): GetEventsResponse {
  return create(GetEventsResponseSchema, init);
}

const curl = {
  execId: "bm9kZTE6MTIzNDU2Nzg5OjQyNDI=",
  pid: 4242,
  uid: 0,
  auid: 4294967295,
  cwd: "/root",
  binary: "/usr/bin/curl",
  arguments: "example.com",
  flags: "execve",
  startTime: { seconds: 1700000000n, nanos: 123000000 },
  parentExecId: "bm9kZTE6MTAwOjEwMA==",
  refcnt: 1,
};

function exec(process: typeof curl = curl): GetEventsResponse {
  return response({ event: { case: "processExec", value: { process } }, nodeName: "node1" });
}

const plain = { colour: false };

/** Neither raw control characters nor anything that starts a terminal escape. */
function expectSingleSafeLine(line: string): void {
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
}

describe("JSON line", () => {
  test("protobuf field names and proto3 JSON rules, as jq pipelines expect", () => {
    const line = formatJsonLine(
      response({
        event: { case: "processExec", value: { process: { ...curl, cap: { effective: [CapabilitiesType.DAC_OVERRIDE] } } } },
        nodeName: "node1",
        time: { seconds: 1700000000n, nanos: 5 },
        aggregationInfo: { count: 18446744073709551615n },
      }),
    );
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual(["process_exec", "node_name", "time", "aggregation_info"]);
    expect(parsed.process_exec.process.exec_id).toBe(curl.execId);
    expect(parsed.process_exec.process.parent_exec_id).toBe(curl.parentExecId);
    // Wrappers are bare values, zero included when set.
    expect(parsed.process_exec.process.pid).toBe(4242);
    expect(parsed.process_exec.process.uid).toBe(0);
    expect(parsed.process_exec.process.auid).toBe(4294967295);
    // Timestamps in RFC 3339; uint64 as a string; enums by name.
    expect(parsed.time).toBe("2023-11-14T22:13:20.000000005Z");
    expect(parsed.process_exec.process.start_time).toBe("2023-11-14T22:13:20.123Z");
    expect(parsed.aggregation_info.count).toBe("18446744073709551615");
    expect(parsed.process_exec.process.cap.effective).toEqual(["DAC_OVERRIDE"]);
  });

  test("default values are omitted and the oneof case is named", () => {
    const line = formatJsonLine(response({ event: { case: "test", value: { arg0: 7n } }, nodeName: "n" }));
    // Keys come in field-number order (node_name = 1000 before test = 40000);
    // JSON key order carries no meaning for jq.
    expect(line).toBe('{"node_name":"n","test":{"arg0":"7"}}');
  });

  test("a hostile binary name stays inside one JSON line", () => {
    const line = formatJsonLine(exec({ ...curl, binary: "/tmp/x\n{\"fake\":1}\u001b[2J" }));
    expect(line).not.toContain("\n");
    expect(line).not.toContain("\u001b");
    expect(JSON.parse(line).process_exec.process.binary).toBe("/tmp/x\n{\"fake\":1}\u001b[2J");
  });
});

describe("compact line", () => {
  test("exec: emoji, kind padded to 7, node, binary, arguments", () => {
    expect(formatCompactLine(exec(), plain)).toBe("🚀 process node1 /usr/bin/curl example.com");
  });

  test("exit with a status, and with a signal", () => {
    const exit = (signal: string, status: number): GetEventsResponse =>
      response({ event: { case: "processExit", value: { process: curl, signal, status } }, nodeName: "node1" });
    expect(formatCompactLine(exit("", 0), plain)).toBe("💥 exit    node1 /usr/bin/curl example.com 0");
    expect(formatCompactLine(exit("", 7), plain)).toBe("💥 exit    node1 /usr/bin/curl example.com 7");
    expect(formatCompactLine(exit("SIGKILL", 0), plain)).toBe("💥 exit    node1 /usr/bin/curl example.com SIGKILL");
  });

  test("a process without arguments leaves no double space", () => {
    expect(formatCompactLine(exec({ ...curl, arguments: "" }), plain)).toBe("🚀 process node1 /usr/bin/curl");
  });

  test("the pod replaces the node when the process runs in one", () => {
    const line = formatCompactLine(
      response({
        event: { case: "processExec", value: { process: { ...curl, pod: { namespace: "default", name: "xwing" } } } },
        nodeName: "node1",
      }),
      plain,
    );
    expect(line).toBe("🚀 process default/xwing /usr/bin/curl example.com");
  });

  test("capabilities gained over the parent trail at the right", () => {
    const line = formatCompactLine(
      response({
        event: {
          case: "processExec",
          value: {
            process: { ...curl, binary: "/usr/bin/sudo", arguments: "id", cap: { effective: [CapabilitiesType.CAP_SYS_ADMIN, CapabilitiesType.CAP_KILL] } },
            parent: { binary: "/bin/bash", cap: { effective: [CapabilitiesType.CAP_KILL] } },
          },
        },
        nodeName: "node1",
      }),
      plain,
    );
    expect(line).toBe("🚀 process node1 /usr/bin/sudo id 🛑 CAP_SYS_ADMIN");
  });

  test("a long list of gained capabilities is shortened", () => {
    const all = Array.from({ length: 41 }, (_, index) => index as CapabilitiesType);
    const line = formatCompactLine(
      response({
        event: { case: "processExec", value: { process: { ...curl, cap: { effective: all } }, parent: { cap: {} } } },
        nodeName: "node1",
      }),
      plain,
    );
    expect(line).toEndWith("🛑 CAP_CHOWN DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER +37");
  });

  test("syscall kprobe with a path argument and a return value", () => {
    const line = formatCompactLine(
      response({
        event: {
          case: "processKprobe",
          value: {
            process: { binary: "/usr/bin/cat", arguments: "/etc/passwd" },
            functionName: "__x64_sys_openat",
            args: [{ arg: { case: "intArg", value: -100 } }, { arg: { case: "stringArg", value: "/etc/passwd" } }],
            return: { arg: { case: "intArg", value: 3 } },
            action: KprobeAction.POST,
          },
        },
        nodeName: "node",
      }),
      plain,
    );
    expect(line).toBe("🔧 syscall node /usr/bin/cat __x64_sys_openat -100 /etc/passwd = 3");
  });

  test("non-syscall kprobe with file, socket and credentials arguments and an enforcing action", () => {
    const line = formatCompactLine(
      response({
        event: {
          case: "processKprobe",
          value: {
            process: { binary: "/usr/bin/nc" },
            functionName: "tcp_connect",
            args: [
              { arg: { case: "fileArg", value: { path: "/tmp/f" } } },
              { arg: { case: "sockArg", value: { protocol: "IPPROTO_TCP", saddr: "10.0.0.1", sport: 5000, daddr: "::1", dport: 80 } } },
              { arg: { case: "credArg", value: { effective: [CapabilitiesType.CAP_NET_RAW] } } },
              { arg: { case: "longArg", value: -5n } },
              { arg: { case: "bytesArg", value: new Uint8Array([0x41, 0x0a, 0x1b, 0x5c]) } },
            ],
            action: KprobeAction.SIGKILL,
          },
        },
        nodeName: "node",
      }),
      plain,
    );
    expect(line).toBe(
      "🔧 kprobe  node /usr/bin/nc tcp_connect /tmp/f IPPROTO_TCP 10.0.0.1:5000 → [::1]:80 CAP_NET_RAW -5 A\\x0a\\x1b\\\\ [SIGKILL]",
    );
  });

  test("tracepoint", () => {
    const line = formatCompactLine(
      response({
        event: {
          case: "processTracepoint",
          value: {
            process: { binary: "/usr/bin/ls" },
            subsys: "syscalls",
            event: "sys_enter_openat",
            args: [{ arg: { case: "sizeArg", value: 18446744073709551615n } }],
          },
        },
        nodeName: "node",
      }),
      plain,
    );
    expect(line).toBe("📍 tracepoint node /usr/bin/ls syscalls/sys_enter_openat 18446744073709551615");
  });

  test("dns response and test event", () => {
    const dns = formatCompactLine(
      response({
        event: {
          case: "processDns",
          value: { process: { binary: "/usr/bin/curl" }, dns: { names: ["example.com"], ips: ["192.0.2.1", "2001:db8::1"], response: true } },
        },
        nodeName: "node",
      }),
      plain,
    );
    expect(dns).toBe("🌐 dns     node /usr/bin/curl example.com 192.0.2.1,2001:db8::1");
    const testEvent = formatCompactLine(response({ event: { case: "test", value: { arg0: 1n, arg3: 4n } }, nodeName: "node" }), plain);
    expect(testEvent).toBe("🧪 test    node 1 0 0 4");
  });

  test("colours only when asked, and only our own escapes", () => {
    expect(formatCompactLine(exec(), plain)).not.toContain("\u001b");
    const coloured = formatCompactLine(exec(), { colour: true });
    expect(coloured).toContain("\u001b[32mprocess\u001b[0m");
    expect(coloured.replace(/\u001b\[\d+m/g, "")).toBe("🚀 process node1 /usr/bin/curl example.com");
  });
});

describe("hostile process-controlled text", () => {
  const hostile = "/tmp/evil\n💥 exit    node1 /usr/bin/sshd 0\r\u001b]0;owned\u0007\u001b[2J\u009b31m\u202egnp.exe";

  test("cannot add a line or a terminal escape to the compact output", () => {
    for (const colour of [false, true]) {
      const line = formatCompactLine(exec({ ...curl, binary: hostile, arguments: `a\nb\u001b[1A` }), { colour });
      const withoutOurColours = line.replace(/\u001b\[\d+m/g, "");
      expectSingleSafeLine(withoutOurColours);
      expect(withoutOurColours).toBe(
        "🚀 process node1 /tmp/evil\\n💥 exit    node1 /usr/bin/sshd 0\\r\\e]0;owned\\x07\\e[2J\\x9b31m\\u202egnp.exe a\\nb\\e[1A",
      );
    }
  });

  test("node names, signals, function names and arguments are escaped too", () => {
    const exitLine = formatCompactLine(
      response({ event: { case: "processExit", value: { process: curl, signal: "SIG\nX" } }, nodeName: "n\u001b[0m" }),
      plain,
    );
    expectSingleSafeLine(exitLine);
    const kprobeLine = formatCompactLine(
      response({
        event: {
          case: "processKprobe",
          value: {
            process: { binary: "/bin/x" },
            functionName: "f\n",
            args: [
              { arg: { case: "stringArg", value: "\u001b[31m" } },
              { arg: { case: "pathArg", value: { path: "/a\nb" } } },
              { arg: { case: "truncatedBytesArg", value: { bytesArg: new Uint8Array([0x9b]), origSize: 9n } } },
            ],
          },
        },
        nodeName: "n",
      }),
      plain,
    );
    expectSingleSafeLine(kprobeLine);
    expect(kprobeLine).toBe("🔧 kprobe  n /bin/x f\\n \\e[31m /a\\nb \\x9b…(9 bytes)");
  });

  test("a literal backslash is doubled so printed escapes are unambiguous", () => {
    expect(escapeForTerminal("a\\nb")).toBe("a\\\\nb");
    expect(escapeForTerminal("a\nb")).toBe("a\\nb");
  });

  test("ordinary non-ASCII text passes through", () => {
    expect(escapeForTerminal("/home/zoë/bin/日本")).toBe("/home/zoë/bin/日本");
  });
});
