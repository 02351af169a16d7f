// A minimal gRPC GetEvents client for the throughput benchmark, run by Node as
// its own process, like the Go client that only counts responses: it
// counts the ProcessKprobe events whose process.binary is argv[3], per pid,
// and every 100 ms prints "count <pid> <n> <last receipt, CLOCK_MONOTONIC ns>".
// It decodes only GetEventsResponse.process_kprobe(9) → process(1) → pid(2), binary(5).
import http2 from "node:http2";

const [address, binary] = [process.argv[2], process.argv[3]];
const counts = new Map();

function varint(b, at) {
  let n = 0, shift = 0, byte;
  do { byte = b[at++]; n += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
  return [n, at];
}

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
    if (no !== 9) return;
    fields(b, s, e, (kno, ks, ke) => {
      if (kno !== 1) return;
      let pid = 0, bin = "";
      fields(b, ks, ke, (f, fs, fe) => {
        if (f === 2) pid = fe > fs ? varint(b, fs + 1)[0] : 0;
        else if (f === 5) bin = b.toString("utf8", fs, fe);
      });
      if (bin !== binary) return;
      const c = counts.get(pid) ?? { n: 0, last: 0n };
      c.n++;
      c.last = t;
      counts.set(pid, c);
    });
  });
}

// Large flow-control windows, as grpc-go's BDP estimation grows them (tetra is
// a grpc-go client); Node's default 64 KiB window would pace the stream.
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
req.on("close", () => console.log("ended"));
setInterval(() => { for (const [pid, c] of counts) console.log(`count ${pid} ${c.n} ${c.last}`); }, 100);
process.on("SIGTERM", () => process.exit(0));
