import type { Pointer } from "bun:ffi";
import { libbpf } from "../bpf/libbpf";
import { BpfError } from "../bpf/errors";
import { FrameSplitter } from "./frames";

export interface ReaderStats {
  records: number;
  bytes: number;
}

/** Reads BPF ring buffers without blocking the event loop: a native thread
 * polls them and streams framed records into a socket pair that this class
 * reads asynchronously. One consumer; records arrive in ring-buffer order. */
export class RingBufferReader {
  private stopped = false;

  private constructor(
    private readonly native: Pointer,
    private readonly readFd: number,
    private readonly writeFd: number,
  ) {}

  static start(ringbufMapFd: number): RingBufferReader {
    const l = libbpf();
    const fds = new Int32Array(2);
    const rc = l.fgs_socketpair(fds);
    if (rc < 0) throw new BpfError("create reader socket pair", rc);
    const err = new Int32Array(1);
    const native = l.fgs_reader_new(ringbufMapFd, fds[1], err);
    if (native === null) {
      l.fgs_close(fds[0]);
      l.fgs_close(fds[1]);
      throw new BpfError("create ring buffer reader", err[0]);
    }
    const reader = new RingBufferReader(native, fds[0], fds[1]);
    const started = l.fgs_reader_start(native);
    if (started < 0) {
      reader.stop();
      throw new BpfError("start ring buffer reader thread", started);
    }
    return reader;
  }

  /** Adds another ring buffer map to the same reader thread. Only before records() is consumed concurrently. */
  add(ringbufMapFd: number): void {
    const rc = libbpf().fgs_reader_add(this.native, ringbufMapFd);
    if (rc < 0) throw new BpfError("add ring buffer to reader", rc);
  }

  async *records(): AsyncGenerator<Uint8Array> {
    const splitter = new FrameSplitter();
    const stream = Bun.file(this.readFd).stream();
    for await (const chunk of stream) {
      yield* splitter.push(chunk);
    }
  }

  stats(): ReaderStats {
    const l = libbpf();
    if (this.stopped) return { records: 0, bytes: 0 };
    return { records: Number(l.fgs_reader_records(this.native)), bytes: Number(l.fgs_reader_bytes(this.native)) };
  }

  /** Stops the thread (waking it if it is blocked writing), then ends records(). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const l = libbpf();
    l.fgs_shutdown_write(this.writeFd);
    l.fgs_reader_stop(this.native);
    l.fgs_close(this.writeFd);
  }

  /** Closes the read side; call after records() has ended. */
  closeReadSide(): void {
    libbpf().fgs_close(this.readFd);
  }
}
