import type { Pointer } from "bun:ffi";
import { libbpf, cString, takeLibbpfLog } from "./libbpf";
import { BpfError } from "./errors";
import { BpfMap } from "./map";

export interface OpenOptions {
  /** Maps to share with an already-loaded object, by name → fd (e.g. "events", "execve_map"). */
  reuseMaps?: ReadonlyMap<string, number>;
  /** Max entries to set before load (e.g. ring buffer size), by map name. */
  maxEntries?: ReadonlyMap<string, number>;
  /** Programs to load; others get autoload off. Default: all. */
  programs?: readonly string[];
}

/* process-wide: one verifier run at a time (see BpfObject.loadAsync) */
let loadQueue: Promise<void> = Promise.resolve();

/** An attachment; destroy() detaches it. Safe to call twice. */
export class BpfLink {
  private ptr: Pointer | null;
  constructor(
    readonly description: string,
    ptr: Pointer,
  ) {
    this.ptr = ptr;
  }
  get attached(): boolean {
    return this.ptr !== null;
  }
  destroy(): void {
    if (this.ptr === null) return;
    libbpf().bpf_link__destroy(this.ptr);
    this.ptr = null;
  }
}

function errPtr(): Int32Array {
  return new Int32Array(1);
}

function linkOrThrow(what: string, p: Pointer | null, err: Int32Array): BpfLink {
  if (p === null) throw new BpfError(`attach ${what}`, err[0] ?? 0, takeLibbpfLog());
  return new BpfLink(what, p);
}

export class BpfProgram {
  constructor(
    readonly name: string,
    readonly ptr: Pointer,
  ) {}

  get sectionName(): string {
    return String(libbpf().bpf_program__section_name(this.ptr));
  }
  get fd(): number {
    return libbpf().bpf_program__fd(this.ptr);
  }

  /** Attaches by the program's SEC() name (tp/..., tp_btf/..., raw_tp/..., kprobe/...). */
  attach(): BpfLink {
    const err = errPtr();
    return linkOrThrow(`${this.name} (${this.sectionName})`, libbpf().fgs_attach(this.ptr, err), err);
  }
  attachTracepoint(category: string, event: string): BpfLink {
    const err = errPtr();
    const p = libbpf().fgs_attach_tracepoint(this.ptr, cString(category), cString(event), err);
    return linkOrThrow(`tracepoint ${category}/${event}`, p, err);
  }
  /** A raw tracepoint (tracepoints with raw: true). */
  attachRawTracepoint(event: string): BpfLink {
    const err = errPtr();
    return linkOrThrow(`raw tracepoint ${event}`, libbpf().fgs_attach_raw_tracepoint(this.ptr, cString(event), err), err);
  }
  attachKprobe(func: string, retprobe: boolean): BpfLink {
    const err = errPtr();
    const p = libbpf().fgs_attach_kprobe(this.ptr, retprobe ? 1 : 0, cString(func), err);
    return linkOrThrow(`${retprobe ? "kretprobe" : "kprobe"} ${func}`, p, err);
  }
  /** fentry/fexit: the target must be set with setAttachTarget before load. */
  /** A uprobe (or uretprobe) in an executable or library, in every process:
   * at a function (plus `offset`), or at the file offset `offset` when
   * `symbol` is empty; `refCtrOffset` (0: none) is its semaphore's file offset. */
  attachUprobe(binary: string, symbol: string, retprobe: boolean, at: { offset: bigint; refCtrOffset: bigint } = { offset: 0n, refCtrOffset: 0n }): BpfLink {
    const err = errPtr();
    const name = symbol === "" ? null : cString(symbol);
    const p = libbpf().fgs_attach_uprobe(this.ptr, retprobe ? 1 : 0, cString(binary), name, at.offset, at.refCtrOffset, err);
    const where = symbol === "" ? `0x${at.offset.toString(16)}` : symbol;
    return linkOrThrow(`uprobe ${binary}:${where}`, p, err);
  }

  /** A USDT probe provider:name of an executable or library, in every process. */
  attachUsdt(binary: string, provider: string, name: string): BpfLink {
    const err = errPtr();
    const p = libbpf().fgs_attach_usdt(this.ptr, cString(binary), cString(provider), cString(name), err);
    return linkOrThrow(`usdt ${binary}:${provider}:${name}`, p, err);
  }

  attachTrace(): BpfLink {
    const err = errPtr();
    return linkOrThrow(`trace ${this.name}`, libbpf().fgs_attach_trace(this.ptr, err), err);
  }
  setAttachTarget(func: string): void {
    const rc = libbpf().bpf_program__set_attach_target(this.ptr, 0, cString(func));
    if (rc < 0) throw new BpfError(`set attach target ${func}`, libbpf().fgs_errno(rc), takeLibbpfLog());
  }
  setAutoload(on: boolean): void {
    libbpf().bpf_program__set_autoload(this.ptr, on);
  }
}

/** One BPF ELF object: open from bytes, configure, load, attach, close. */
export class BpfObject {
  private closed = false;
  private readonly links: BpfLink[] = [];

  private constructor(
    readonly name: string,
    private readonly ptr: Pointer,
  ) {}

  static open(name: string, image: Uint8Array, options: OpenOptions = {}): BpfObject {
    const err = errPtr();
    const nameBuf = cString(name);
    // libbpf copies what it keeps (instructions, BTF, map data) and lets go of
    // the ELF bytes before bpf_object__open_mem returns (bpf_object__elf_finish),
    // so the image is not held: ~1 MB per object that the GC also budgets from.
    const p = libbpf().fgs_object_open(image, image.byteLength, nameBuf, err);
    if (p === null) throw new BpfError(`open BPF object ${name}`, err[0] ?? 0, takeLibbpfLog());
    const obj = new BpfObject(name, p);
    try {
      obj.configure(options);
    } catch (e) {
      obj.close();
      throw e;
    }
    return obj;
  }

  private configure(options: OpenOptions): void {
    for (const [map, fd] of options.reuseMaps ?? []) {
      const m = this.mapPtr(map);
      if (m === null) continue;
      const rc = libbpf().bpf_map__reuse_fd(m, fd);
      if (rc < 0) throw new BpfError(`reuse map ${map} in ${this.name}`, libbpf().fgs_errno(rc), takeLibbpfLog());
    }
    for (const [map, entries] of options.maxEntries ?? []) {
      const m = this.mapPtr(map);
      if (m !== null) libbpf().bpf_map__set_max_entries(m, entries);
    }
    if (options.programs) {
      const wanted = new Set(options.programs);
      for (const prog of this.programs()) prog.setAutoload(wanted.has(prog.name));
    }
  }

  load(): void {
    takeLibbpfLog();
    const rc = libbpf().bpf_object__load(this.ptr);
    libbpf().fgs_trim_heap();
    if (rc < 0) throw new BpfError(`load BPF object ${this.name}`, libbpf().fgs_errno(rc), takeLibbpfLog());
  }

  /** load() on a native thread (the verifier can take long): the event loop
   * keeps running. Loads are serialized: libbpf's captured log is process-wide. */
  async loadAsync(pollMs = 2): Promise<void> {
    const previous = loadQueue;
    let release = () => {};
    loadQueue = new Promise<void>((r) => (release = r));
    await previous;
    try {
      takeLibbpfLog();
      const err = errPtr();
      const job = libbpf().fgs_object_load_async(this.ptr, err);
      if (job === null) throw new BpfError(`load BPF object ${this.name}`, err[0] ?? 0, "");
      while (libbpf().fgs_object_load_poll(job) === 0) await Bun.sleep(pollMs);
      const rc = libbpf().fgs_object_load_finish(job);
      if (rc < 0) throw new BpfError(`load BPF object ${this.name}`, rc, takeLibbpfLog());
    } finally {
      release();
    }
  }

  *programs(): Generator<BpfProgram> {
    let p: Pointer | null = null;
    for (;;) {
      p = libbpf().bpf_object__next_program(this.ptr, p);
      if (p === null) return;
      yield new BpfProgram(String(libbpf().bpf_program__name(p)), p);
    }
  }

  program(name: string): BpfProgram {
    const p = libbpf().bpf_object__find_program_by_name(this.ptr, cString(name));
    if (p === null) throw new Error(`BPF object ${this.name} has no program ${name}`);
    return new BpfProgram(name, p);
  }

  private mapPtr(name: string): Pointer | null {
    return libbpf().bpf_object__find_map_by_name(this.ptr, cString(name));
  }

  hasMap(name: string): boolean {
    return this.mapPtr(name) !== null;
  }

  map(name: string): BpfMap {
    const m = this.mapPtr(name);
    if (m === null) throw new Error(`BPF object ${this.name} has no map ${name}`);
    const l = libbpf();
    return new BpfMap(name, l.bpf_map__fd(m), l.bpf_map__key_size(m), l.bpf_map__value_size(m));
  }

  /** Writes a global of a .data/.bss/.rodata section before load. */
  setInitialValue(section: string, bytes: Uint8Array): void {
    const m = this.mapPtr(section);
    if (m === null) throw new Error(`BPF object ${this.name} has no section ${section}`);
    const rc = libbpf().bpf_map__set_initial_value(m, bytes, bytes.byteLength);
    if (rc < 0) throw new BpfError(`set ${section} of ${this.name}`, libbpf().fgs_errno(rc));
  }

  /** Attaches and remembers the link so close() detaches it. */
  track(link: BpfLink): BpfLink {
    this.links.push(link);
    return link;
  }

  detachAll(): void {
    for (const link of this.links.splice(0)) link.destroy();
  }

  close(): void {
    if (this.closed) return;
    this.detachAll();
    libbpf().bpf_object__close(this.ptr);
    this.closed = true;
  }
}

