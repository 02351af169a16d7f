/** File offsets of virtual addresses in an ELF executable or library
 * (uprobes `addrs`): the address as `nm` or a debugger shows it, mapped
 * through the program header of the loadable segment that holds it. */
import { closeSync, openSync, readSync } from "node:fs";

const ELF_MAGIC = 0x464c457f; /* "\x7fELF", little-endian */
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_LOAD = 1;
const PHDR_BYTES = 56;
const MAX_PHDRS = 256;

interface LoadSegment {
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly filesz: bigint;
}

function readAt(fd: number, at: number, length: number): DataView {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, at);
  if (n !== length) throw new Error(`truncated ELF file (wanted ${length} bytes at ${at})`);
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function loadSegments(fd: number): LoadSegment[] {
  const h = readAt(fd, 0, 64);
  if (h.getUint32(0, true) !== ELF_MAGIC) throw new Error("not an ELF file");
  if (h.getUint8(4) !== ELFCLASS64 || h.getUint8(5) !== ELFDATA2LSB) throw new Error("only 64-bit little-endian ELF files are supported");
  const phoff = Number(h.getBigUint64(32, true));
  const phentsize = h.getUint16(54, true);
  const phnum = Math.min(h.getUint16(56, true), MAX_PHDRS);
  if (phentsize < PHDR_BYTES) throw new Error(`unexpected program header size ${phentsize}`);
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = readAt(fd, phoff + i * phentsize, PHDR_BYTES);
    if (p.getUint32(0, true) !== PT_LOAD) continue;
    segments.push({ offset: p.getBigUint64(8, true), vaddr: p.getBigUint64(16, true), filesz: p.getBigUint64(32, true) });
  }
  return segments;
}

/** The file offset of `address` in the ELF file at `path`; throws naming why
 * when the file cannot be read or no loadable segment holds the address. */
export function elfAddressToOffset(path: string, address: bigint): bigint {
  const fd = openSync(path, "r");
  try {
    const seg = loadSegments(fd).find((s) => address >= s.vaddr && address < s.vaddr + s.filesz);
    if (!seg) throw new Error(`no loadable segment of the file holds address 0x${address.toString(16)}`);
    return address - seg.vaddr + seg.offset;
  } finally {
    closeSync(fd);
  }
}
