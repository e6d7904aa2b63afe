// A small codec for the component model's canonical ABI: how WIT values are laid out in a core
// module's linear memory, so that box can call a policy's core module directly, without jco's
// glue. It covers the types box:policy uses (bool, u8/u16/u32, u64/s64, string, list, option,
// tuple, record, enum, variant) with UTF-8 strings, and gives JavaScript the same values as jco's
// bindings do (see types.ts): camelCase record keys, enums as strings, variants as { tag, val },
// options as the value or undefined, 64-bit integers as bigint.
//
// Layout (the canonical ABI's rules): a string or a list is (pointer u32, length u32); a record
// puts each field at the next multiple of its alignment and is padded to its own, the largest;
// an enum, option or variant is a discriminant (u8 up to 256 cases) followed by the payload at
// the payload's alignment. Lowering allocates every string and list through the module's
// cabi_realloc, as jco does; lifting checks alignment, bounds and discriminants, and a bad one
// throws a TypeError (the engine reports it as the policy's failure, a trap).

export type WitType =
  | { kind: 'bool' | 'u8' | 'u16' | 'u32' | 'u64' | 's64' | 'string'; size: number; align: number }
  | { kind: 'list'; of: WitType; size: number; align: number }
  | { kind: 'option'; of: WitType; size: number; align: number; payload: number }
  | { kind: 'record'; fields: Field[]; size: number; align: number }
  | { kind: 'tuple'; items: WitType[]; offsets: number[]; size: number; align: number }
  | { kind: 'enum'; cases: string[]; size: number; align: number }
  | { kind: 'variant'; cases: Array<[string, WitType | undefined]>; size: number; align: number; payload: number };

interface Field {
  /** the WIT name (kebab-case) */
  name: string;
  /** the JavaScript key (camelCase) */
  key: string;
  type: WitType;
  offset: number;
}

const alignTo = (n: number, align: number): number => Math.ceil(n / align) * align;
const discriminantSize = (cases: number): number => (cases <= 256 ? 1 : cases <= 65536 ? 2 : 4);
const camel = (kebab: string): string => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Lays out fields one after the other, each at its alignment: their offsets, size and alignment. */
function layOut(types: WitType[]): { offsets: number[]; size: number; align: number } {
  let at = 0;
  let align = 1;
  const offsets = types.map((t) => {
    at = alignTo(at, t.align);
    const offset = at;
    at += t.size;
    align = Math.max(align, t.align);
    return offset;
  });
  return { offsets, size: alignTo(at, align), align };
}

/** A discriminant followed by the largest payload: the payload's offset, size and alignment. */
function layOutCases(count: number, payloads: WitType[]): { payload: number; size: number; align: number } {
  const disc = discriminantSize(count);
  const align = Math.max(disc, ...payloads.map((t) => t.align));
  const payload = alignTo(disc, Math.max(1, ...payloads.map((t) => t.align)));
  const size = alignTo(payload + Math.max(0, ...payloads.map((t) => t.size)), align);
  return { payload, size, align };
}

/** Constructors of WIT types, their layout computed once. */
export const wit = {
  bool: { kind: 'bool', size: 1, align: 1 } as WitType,
  u8: { kind: 'u8', size: 1, align: 1 } as WitType,
  u16: { kind: 'u16', size: 2, align: 2 } as WitType,
  u32: { kind: 'u32', size: 4, align: 4 } as WitType,
  u64: { kind: 'u64', size: 8, align: 8 } as WitType,
  s64: { kind: 's64', size: 8, align: 8 } as WitType,
  string: { kind: 'string', size: 8, align: 4 } as WitType,
  list: (of: WitType): WitType => ({ kind: 'list', of, size: 8, align: 4 }),
  option: (of: WitType): WitType => ({ kind: 'option', of, ...layOutCases(2, [of]) }),
  tuple: (...items: WitType[]): WitType => ({ kind: 'tuple', items, ...layOut(items) }),
  /** fields in WIT order, by their WIT names */
  record: (fields: Record<string, WitType>): WitType => {
    const entries = Object.entries(fields);
    const { offsets, size, align } = layOut(entries.map(([, t]) => t));
    const list = entries.map(([name, type], i) => ({ name, key: camel(name), type, offset: offsets[i] }));
    return { kind: 'record', fields: list, size, align };
  },
  enum: (...cases: string[]): WitType => ({ kind: 'enum', cases, ...layOutCases(cases.length, []) }),
  /** cases in WIT order; undefined: no payload */
  variant: (cases: Record<string, WitType | undefined>): WitType => {
    const list = Object.entries(cases);
    const payloads = list.flatMap(([, t]) => (t ? [t] : []));
    return { kind: 'variant', cases: list, ...layOutCases(list.length, payloads) };
  },
};

/** What lowering needs of an instance: its memory and its allocator. */
export interface Guest {
  memory: WebAssembly.Memory;
  realloc: (old: number, oldSize: number, align: number, size: number) => number;
}

// Strings go through Buffer's UTF-8 codec, which box's start has warmed already, not TextDecoder and
// TextEncoder (making the decoder and the first calls of both cost ~0.15 ms of CPU, 2026-12-05). Both
// write a lone surrogate as U+FFFD and read invalid UTF-8 as jco's TextDecoder does (U+FFFD per
// maximal subpart); only the decoder's dropping of a leading byte order mark is done here.
const BOM = 0xfeff;

function integer(value: unknown, min: number, max: number, kind: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new TypeError(`expected a ${kind}, got ${String(value)}`);
  return value;
}

/**
 * Writes values into a guest's memory, each checked, at the address given, allocating strings and
 * lists through the guest as jco does. Used by store below and by the generated admission-codec.ts.
 */
export class Writer {
  private dv!: DataView;
  /** the memory's bytes as one Buffer: a string is written into it, not into a Buffer made for it */
  private bytes!: Buffer;
  constructor(readonly guest: Guest) {
    this.viewMemory(guest.memory.buffer);
  }
  /**
   * Views of the memory's current buffer. Its memory grows only while guest code runs, which in a
   * lowering is the allocator: the views are looked at again after each allocation, not before
   * each write (two getters a write: lowering a request 0.178 -> 0.168 ms of CPU, 2026-12-05).
   */
  private viewMemory(buffer: ArrayBuffer): void {
    this.dv = new DataView(buffer);
    this.bytes = Buffer.from(buffer);
  }
  alloc(align: number, size: number): number {
    const ptr = this.guest.realloc(0, 0, align, size);
    const buffer = this.guest.memory.buffer;
    if (this.dv.buffer !== buffer) this.viewMemory(buffer); // (the old one is detached)
    if (ptr % align !== 0) throw new TypeError(`the policy's allocator returned ${ptr}, not aligned to ${align}`);
    if (ptr + size > buffer.byteLength)
      throw new TypeError(`the policy's allocator returned ${ptr}, out of bounds for ${size} bytes`);
    return ptr;
  }
  /** `value` as a record, checked */
  record(value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null) throw new TypeError(`expected a record, got ${typeof value}`);
    return value as Record<string, unknown>;
  }
  /** `value` as a tuple, checked */
  tuple(value: unknown): unknown[] {
    if (!Array.isArray(value)) throw new TypeError(`expected a tuple, got ${typeof value}`);
    return value;
  }
  bool(value: unknown, ptr: number): void {
    if (typeof value !== 'boolean') throw new TypeError(`expected a boolean, got ${typeof value}`);
    this.dv.setUint8(ptr, value ? 1 : 0);
  }
  u8(value: unknown, ptr: number): void {
    this.dv.setUint8(ptr, integer(value, 0, 0xff, 'u8'));
  }
  u16(value: unknown, ptr: number): void {
    this.dv.setUint16(ptr, integer(value, 0, 0xffff, 'u16'), true);
  }
  u32(value: unknown, ptr: number): void {
    this.dv.setUint32(ptr, integer(value, 0, 0xffffffff, 'u32'), true);
  }
  u64(value: unknown, ptr: number): void {
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, value as bigint), true);
  }
  s64(value: unknown, ptr: number): void {
    this.dv.setBigInt64(ptr, BigInt.asIntN(64, value as bigint), true);
  }
  string(value: unknown, ptr: number): void {
    if (typeof value !== 'string') throw new TypeError(`expected a string, got ${typeof value}`);
    let at = 1; // jco's pointer for an empty string: nothing is allocated
    let len = 0;
    if (value.length) {
      const encoded = Buffer.from(value, 'utf8'); // a lone surrogate as U+FFFD, as TextEncoder writes it
      len = encoded.length;
      at = this.alloc(1, len);
      this.bytes.set(encoded, at);
    }
    const dv = this.dv;
    dv.setUint32(ptr, at, true);
    dv.setUint32(ptr + 4, len, true);
  }
  /** An option's discriminant; returns whether `value` is some (its payload is the caller's to write). */
  some(value: unknown, ptr: number): boolean {
    const some = value !== undefined && value !== null;
    this.dv.setUint8(ptr, some ? 1 : 0);
    return some;
  }
  /** An enum's or a variant's discriminant, by the case's name; returns its index. */
  choice(name: unknown, cases: readonly string[], ptr: number): number {
    const index = cases.indexOf(name as string);
    if (index < 0) throw new TypeError(`expected one of ${cases.join(', ')}, got ${String(name)}`);
    const dv = this.dv;
    const size = discriminantSize(cases.length);
    if (size === 1) dv.setUint8(ptr, index);
    else if (size === 2) dv.setUint16(ptr, index, true);
    else dv.setUint32(ptr, index, true);
    return index;
  }
  /** A list whose elements (`size` bytes, aligned to `align`) `each` writes. */
  list(value: unknown, ptr: number, size: number, align: number, each: (w: Writer, item: unknown, at: number) => void) {
    if (!Array.isArray(value)) throw new TypeError(`expected a list, got ${typeof value}`);
    const base = this.alloc(align, value.length * size);
    for (let i = 0; i < value.length; i++) each(this, value[i], base + i * size);
    const dv = this.dv;
    dv.setUint32(ptr, base, true);
    dv.setUint32(ptr + 4, value.length, true);
  }
}

/** Writes `value` of type `t` at `ptr`, walking the type's table. */
function store(w: Writer, t: WitType, value: unknown, ptr: number): void {
  switch (t.kind) {
    case 'bool':
    case 'u8':
    case 'u16':
    case 'u32':
    case 'u64':
    case 's64':
    case 'string':
      w[t.kind](value, ptr);
      return;
    case 'list':
      w.list(value, ptr, t.of.size, t.of.align, (_, item, at) => store(w, t.of, item, at));
      return;
    case 'option':
      if (w.some(value, ptr)) store(w, t.of, value, ptr + t.payload);
      return;
    case 'record': {
      const r = w.record(value);
      for (const f of t.fields) store(w, f.type, r[f.key], ptr + f.offset);
      return;
    }
    case 'tuple': {
      const items = w.tuple(value);
      for (let i = 0; i < t.items.length; i++) store(w, t.items[i], items[i], ptr + t.offsets[i]);
      return;
    }
    case 'enum':
      w.choice(value, t.cases, ptr);
      return;
    case 'variant': {
      const v = value as { tag?: unknown; val?: unknown } | null | undefined;
      const payload =
        t.cases[
          w.choice(
            v?.tag,
            t.cases.map(([name]) => name),
            ptr,
          )
        ][1];
      if (payload) store(w, payload, v?.val, ptr + t.payload);
      return;
    }
  }
}

/**
 * Reads values from a guest's memory, checking alignment, bounds and discriminants. Used by load
 * below and by the generated admission-codec.ts.
 */
export class Reader {
  readonly dv: DataView;
  /** the memory's bytes as one Buffer (a result is read before anything can grow the memory) */
  private readonly bytes: Buffer;
  constructor(readonly memory: WebAssembly.Memory) {
    this.dv = new DataView(memory.buffer);
    this.bytes = Buffer.from(memory.buffer);
  }
  bool(ptr: number): boolean {
    const b = this.dv.getUint8(ptr);
    if (b > 1) throw new TypeError(`invalid bool ${b}`);
    return b === 1;
  }
  string(ptr: number): string {
    const at = this.dv.getUint32(ptr, true);
    const len = this.dv.getUint32(ptr + 4, true);
    // (toString would cut a string past the end short: out of bounds is a RangeError, as a view's)
    if (at + len > this.bytes.length) throw new RangeError(`a string of ${len} bytes at ${at} is out of bounds`);
    const text = this.bytes.toString('utf8', at, at + len);
    return text.charCodeAt(0) === BOM ? text.slice(1) : text;
  }
  /** A discriminant of `count` cases, checked. */
  choice(ptr: number, count: number, what: string): number {
    const size = discriminantSize(count);
    const dv = this.dv;
    const index = size === 1 ? dv.getUint8(ptr) : size === 2 ? dv.getUint16(ptr, true) : dv.getUint32(ptr, true);
    if (index >= count) throw new TypeError(`invalid discriminant ${index} for ${what}`);
    return index;
  }
  /** A list whose elements (`size` bytes, aligned to `align`) `each` reads. */
  list<T>(ptr: number, size: number, align: number, each: (r: Reader, at: number) => T): T[] {
    const base = this.dv.getUint32(ptr, true);
    const len = this.dv.getUint32(ptr + 4, true);
    if (base % align !== 0) throw new TypeError(`list pointer ${base} is not aligned to ${align}`);
    if (base + len * size > this.memory.buffer.byteLength)
      throw new TypeError(`a list of ${len} at ${base} is out of bounds`);
    const out: T[] = [];
    for (let i = 0; i < len; i++) out.push(each(this, base + i * size));
    return out;
  }
}

/** Reads a value of type `t` at `ptr`, walking the type's table. */
function load(r: Reader, t: WitType, ptr: number): unknown {
  switch (t.kind) {
    case 'bool':
      return r.bool(ptr);
    case 'u8':
      return r.dv.getUint8(ptr);
    case 'u16':
      return r.dv.getUint16(ptr, true);
    case 'u32':
      return r.dv.getUint32(ptr, true);
    case 'u64':
      return r.dv.getBigUint64(ptr, true);
    case 's64':
      return r.dv.getBigInt64(ptr, true);
    case 'string':
      return r.string(ptr);
    case 'list':
      return r.list(ptr, t.of.size, t.of.align, (_, at) => load(r, t.of, at));
    case 'option':
      return r.choice(ptr, 2, 'option') === 0 ? undefined : load(r, t.of, ptr + t.payload);
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[f.key] = load(r, f.type, ptr + f.offset);
      return out;
    }
    case 'tuple':
      return t.items.map((item, i) => load(r, item, ptr + t.offsets[i]));
    case 'enum':
      return t.cases[r.choice(ptr, t.cases.length, `enum ${t.cases.join('|')}`)];
    case 'variant': {
      const [tag, payload] = t.cases[r.choice(ptr, t.cases.length, 'variant')];
      return payload ? { tag, val: load(r, payload, ptr + t.payload) } : { tag };
    }
  }
}

/**
 * Lowers one argument the way a function whose parameters do not fit in 16 core values takes
 * them: written to memory the guest allocates; returns its address. Box itself runs the code
 * generated from the types (admission-codec.ts), which does the same without walking them.
 */
export function lowerToMemory(guest: Guest, t: WitType, value: unknown): number {
  const w = new Writer(guest);
  const ptr = w.alloc(t.align, t.size);
  store(w, t, value, ptr);
  return ptr;
}

/** Lifts a result returned in memory (a result of more than one core value): `ptr` is what the call returned. */
export function liftFromMemory(memory: WebAssembly.Memory, t: WitType, ptr: number): unknown {
  if (ptr % t.align !== 0) throw new TypeError(`result pointer ${ptr} is not aligned to ${t.align}`);
  return load(new Reader(memory), t, ptr);
}
