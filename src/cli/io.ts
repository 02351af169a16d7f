/** Where the client writes. process.stdout and process.stderr fit, and so do test buffers. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** Present on terminals; `--color auto` colours only then. */
  readonly isTTY?: boolean;
  /** Node streams: used to wait for "drain" and to notice a closed pipe ("error"). */
  once?(event: "drain" | "error", listener: (error?: unknown) => void): unknown;
  off?(event: "drain" | "error", listener: (error?: unknown) => void): unknown;
}

export interface ClientIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}

/** Writes one line; waits when a Node stream asks us to (write() returned false). */
export async function writeLine(stream: OutputStream, line: string): Promise<void> {
  const accepted = stream.write(`${line}\n`);
  if (accepted !== false || !stream.once) return;
  await new Promise<void>((resolve) => stream.once?.("drain", () => resolve()));
}

/** Resolves when the stream reports an error (EPIPE: the reader went away). */
export function whenStreamFails(stream: OutputStream): { failed: Promise<void>; dispose(): void } {
  let listener: ((error?: unknown) => void) | undefined;
  const failed = new Promise<void>((resolve) => {
    listener = () => resolve();
    stream.once?.("error", listener);
  });
  return {
    failed,
    dispose: () => {
      if (listener) stream.off?.("error", listener);
    },
  };
}
