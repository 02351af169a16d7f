import { readFileSync } from "node:fs";
import packPath from "../../bpf/build/objects.pack" with { type: "file" };

/** The compiled BPF objects by name (file name without .bpf.o). A Map serves
 * (tests); the agent's reads each image from the executable when asked. */
export interface ObjectImages {
  get(name: string): Uint8Array | undefined;
  keys(): IterableIterator<string>;
}

interface Entry {
  readonly offset: number;
  readonly size: number;
}

function indexObjectPack(pack: Uint8Array): Map<string, Entry> {
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const index = new Map<string, Entry>();
  const decoder = new TextDecoder();
  let off = 0;
  while (off < pack.byteLength) {
    const nameLen = view.getUint32(off, true);
    const name = decoder.decode(pack.subarray(off + 4, off + 4 + nameLen));
    off += 4 + nameLen;
    const size = view.getUint32(off, true);
    index.set(name, { offset: off + 4, size });
    off += 4 + size;
  }
  return index;
}

/** Objects are opened at start and when a policy loads: the pack (~5 MB) is
 * read again then rather than held for the agent's life; an open object
 * does not keep its image (src/bpf/object.ts). */
class EmbeddedObjects implements ObjectImages {
  private readonly index: Map<string, Entry>;

  constructor(private readonly read: () => Uint8Array) {
    this.index = indexObjectPack(read());
  }

  get(name: string): Uint8Array | undefined {
    const e = this.index.get(name);
    // A copy: the pack is a Buffer, whose slice() is a view that would keep
    // all of it (~5 MB) alive for as long as the image is referenced.
    return e && new Uint8Array(this.read().subarray(e.offset, e.offset + e.size));
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }
}

export function loadEmbeddedObjects(): ObjectImages {
  return new EmbeddedObjects(() => readFileSync(packPath));
}

export function objectImage(images: ObjectImages, name: string): Uint8Array {
  const image = images.get(name);
  if (!image) throw new Error(`BPF object "${name}" is not in this build (have: ${[...images.keys()].join(", ")})`);
  return image;
}
