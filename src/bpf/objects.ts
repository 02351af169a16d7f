import { readFileSync } from "node:fs";
import packPath from "../../bpf/build/objects.pack" with { type: "file" };

/** The compiled BPF objects carried by the executable, by name (file name without .bpf.o). */
export type ObjectImages = ReadonlyMap<string, Uint8Array>;

function parseObjectPack(pack: Uint8Array): ObjectImages {
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const images = new Map<string, Uint8Array>();
  const decoder = new TextDecoder();
  let off = 0;
  while (off < pack.byteLength) {
    const nameLen = view.getUint32(off, true);
    const name = decoder.decode(pack.subarray(off + 4, off + 4 + nameLen));
    off += 4 + nameLen;
    const size = view.getUint32(off, true);
    images.set(name, pack.subarray(off + 4, off + 4 + size));
    off += 4 + size;
  }
  return images;
}

export function loadEmbeddedObjects(): ObjectImages {
  return parseObjectPack(readFileSync(packPath));
}

export function objectImage(images: ObjectImages, name: string): Uint8Array {
  const image = images.get(name);
  if (!image) throw new Error(`BPF object "${name}" is not in this build (have: ${[...images.keys()].join(", ")})`);
  return image;
}
