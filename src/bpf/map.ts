import { libbpf } from "./libbpf";
import { BpfError } from "./errors";

const BPF_ANY = 0;
export const BPF_NOEXIST = 1;

/** A loaded map, addressed by fd. Keys and values are raw bytes laid out as in bpf/*.h. */
export class BpfMap {
  constructor(
    readonly name: string,
    readonly fd: number,
    readonly keySize: number,
    readonly valueSize: number,
  ) {}

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY): void {
    const rc = libbpf().bpf_map_update_elem(this.fd, key, value, flags);
    if (rc < 0) throw new BpfError(`update map ${this.name}`, libbpf().fgs_errno(rc));
  }

  /** Inserts unless the key exists; returns false when it did. */
  insertIfAbsent(key: Uint8Array, value: Uint8Array): boolean {
    const rc = libbpf().bpf_map_update_elem(this.fd, key, value, BPF_NOEXIST);
    if (rc === 0) return true;
    const err = libbpf().fgs_errno(rc);
    if (err === -17 /* EEXIST */) return false;
    throw new BpfError(`insert into map ${this.name}`, err);
  }

  lookup(key: Uint8Array, valueSize = this.valueSize): Uint8Array | undefined {
    const value = new Uint8Array(valueSize);
    const rc = libbpf().bpf_map_lookup_elem(this.fd, key, value);
    if (rc === 0) return value;
    const err = libbpf().fgs_errno(rc);
    if (err === -2 /* ENOENT */) return undefined;
    throw new BpfError(`lookup in map ${this.name}`, err);
  }

  delete(key: Uint8Array): boolean {
    const rc = libbpf().bpf_map_delete_elem(this.fd, key);
    if (rc === 0) return true;
    const err = libbpf().fgs_errno(rc);
    if (err === -2) return false;
    throw new BpfError(`delete from map ${this.name}`, err);
  }

  *keys(): Generator<Uint8Array> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(this.keySize);
      const rc = libbpf().bpf_map_get_next_key(this.fd, prev, next);
      if (rc < 0) return;
      yield next;
      prev = next;
    }
  }

  /** Per-CPU maps: one value slot per possible CPU, each rounded up to 8 bytes. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] {
    const cpus = libbpf().libbpf_num_possible_cpus();
    const slot = Math.ceil(this.valueSize / 8) * 8;
    const raw = this.lookup(key, slot * cpus);
    if (!raw) return [];
    return Array.from({ length: cpus }, (_, i) => raw.subarray(i * slot, i * slot + this.valueSize));
  }
}

export function u32Key(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
