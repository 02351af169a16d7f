// A minimal gRPC GetEvents client for the fan-out benchmark, run by Node as
// its own process (like one `tetra getevents` each): it stamps each exec
// event of "/bin/true lat <i>" with CLOCK_MONOTONIC on receipt (Node's
// hrtime), prints "count <n>" when its count of those changed (every 200 ms),
// and prints "recv <pid> <ns>" lines when told to stop (SIGTERM).
// It decodes only what it needs: GetEventsResponse.process_exec(1) →
// process(1) → pid(2, UInt32Value) and arguments(6).
import fs from "node:fs";
import http2 from "node:http2";

const address = process.argv[2];
const recv = new Map();

function varint(b, at) {
  let n = 0, shift = 0, byte;
  do { byte = b[at++]; n += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
  return [n, at];
}

/** Calls f(field, start, end) for each length-delimited field; skips others. */
function fields(b, start, end, f) {
  let at = start;
  while (at < end) {
    let tag; [tag, at] = varint(b, at);
    const no = Math.floor(tag / 8), wt = tag & 7;
    if (wt === 0) { [, at] = varint(b, at); continue; }
    if (wt === 1) { at += 8; continue; }
    if (wt === 5) { at += 4; continue; }
    let len; [len, at] = varint(b, at);
    f(no, at, at + len);
    at += len;
  }
}

function onMessage(b, start, end, t) {
  fields(b, start, end, (no, s, e) => {
    if (no !== 1) return; // process_exec
    fields(b, s, e, (pno, ps, pe) => {
      if (pno !== 1) return; // process
      let pid = 0, args = "";
      fields(b, ps, pe, (f, fs, fe) => {
        if (f === 2) pid = fe > fs ? varint(b, fs + 1)[0] : 0; // UInt32Value { value = 1 }
        else if (f === 6) args = b.toString("utf8", fs, fe);
      });
      if (args.startsWith("lat ") && !recv.has(pid)) recv.set(pid, t);
    });
  });
}

// Large flow-control windows, as in count-client.mjs: grpc-go (tetra) grows
// its windows by BDP estimation; Node's 64 KiB default makes every client
// send a WINDOW_UPDATE per ~32 KiB (per stream and per connection).
const WINDOW = 16 << 20;
const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: WINDOW } });
session.on("connect", () => session.setLocalWindowSize(WINDOW));
const req = session.request({ ":path": "/tetragon.FineGuidanceSensors/GetEvents", ":method": "POST", "content-type": "application/grpc", te: "trailers" });
req.end(Buffer.from([0, 0, 0, 0, 0]));
let pending = Buffer.alloc(0);
req.on("response", () => console.log("ready"));
req.on("data", (chunk) => {
  const t = process.hrtime.bigint();
  const b = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  let at = 0;
  while (b.length - at >= 5) {
    const len = b.readUInt32BE(at + 1);
    if (b.length - at < 5 + len) break;
    onMessage(b, at + 5, at + 5 + len, t);
    at += 5 + len;
  }
  pending = b.subarray(at);
});
req.on("error", (e) => console.log(`error ${e.message}`));
let told = 0;
setInterval(() => {
  if (recv.size !== told) console.log(`count ${(told = recv.size)}`);
}, 200);
process.on("SIGTERM", () => {
  // One synchronous write: console.log to a pipe followed by process.exit loses lines.
  let out = "";
  for (const [pid, t] of recv) out += `recv ${pid} ${t}\n`;
  writeAll(out + "done\n");
  process.exit(0);
});

function writeAll(text) {
  const b = Buffer.from(text);
  for (let at = 0; at < b.length; ) {
    try {
      at += fs.writeSync(1, b, at);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}
