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

const decoder = new TextDecoder(); // as jco: invalid UTF-8 becomes U+FFFD
const encoder = new TextEncoder();

/** A DataView of the guest's memory, made again when the memory grew (its old buffer is detached). */
class View {
  private dv: DataView;
  constructor(readonly memory: WebAssembly.Memory) {
    this.dv = new DataView(memory.buffer);
  }
  get(): DataView {
    if (this.dv.buffer !== this.memory.buffer) this.dv = new DataView(this.memory.buffer);
    return this.dv;
  }
}

function allocate(guest: Guest, align: number, size: number): number {
  const ptr = guest.realloc(0, 0, align, size);
  if (ptr % align !== 0) throw new TypeError(`the policy's allocator returned ${ptr}, not aligned to ${align}`);
  if (ptr + size > guest.memory.buffer.byteLength)
    throw new TypeError(`the policy's allocator returned ${ptr}, out of bounds for ${size} bytes`);
  return ptr;
}

function integer(value: unknown, min: number, max: number, kind: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new TypeError(`expected a ${kind}, got ${String(value)}`);
  return value;
}

function storeString(guest: Guest, view: View, value: unknown, ptr: number): void {
  if (typeof value !== 'string') throw new TypeError(`expected a string, got ${typeof value}`);
  let at = 1; // jco's pointer for an empty string: nothing is allocated
  let len = 0;
  if (value.length) {
    len = Buffer.byteLength(value, 'utf8'); // a lone surrogate counts 3, as TextEncoder writes U+FFFD
    at = allocate(guest, 1, len);
    encoder.encodeInto(value, new Uint8Array(guest.memory.buffer, at, len));
  }
  const dv = view.get();
  dv.setUint32(ptr, at, true);
  dv.setUint32(ptr + 4, len, true);
}

function storeCase(view: View, count: number, index: number, ptr: number): void {
  const dv = view.get();
  const size = discriminantSize(count);
  if (size === 1) dv.setUint8(ptr, index);
  else if (size === 2) dv.setUint16(ptr, index, true);
  else dv.setUint32(ptr, index, true);
}

/** Writes `value` of type `t` at `ptr` (allocating its strings and lists through the guest). */
function store(guest: Guest, view: View, t: WitType, value: unknown, ptr: number): void {
  switch (t.kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw new TypeError(`expected a boolean, got ${typeof value}`);
      view.get().setUint8(ptr, value ? 1 : 0);
      return;
    case 'u8':
      view.get().setUint8(ptr, integer(value, 0, 0xff, 'u8'));
      return;
    case 'u16':
      view.get().setUint16(ptr, integer(value, 0, 0xffff, 'u16'), true);
      return;
    case 'u32':
      view.get().setUint32(ptr, integer(value, 0, 0xffffffff, 'u32'), true);
      return;
    case 'u64':
      view.get().setBigUint64(ptr, BigInt.asUintN(64, value as bigint), true);
      return;
    case 's64':
      view.get().setBigInt64(ptr, BigInt.asIntN(64, value as bigint), true);
      return;
    case 'string':
      storeString(guest, view, value, ptr);
      return;
    case 'list': {
      if (!Array.isArray(value)) throw new TypeError(`expected a list, got ${typeof value}`);
      const base = allocate(guest, t.of.align, value.length * t.of.size);
      for (let i = 0; i < value.length; i++) store(guest, view, t.of, value[i], base + i * t.of.size);
      const dv = view.get();
      dv.setUint32(ptr, base, true);
      dv.setUint32(ptr + 4, value.length, true);
      return;
    }
    case 'option':
      if (value === undefined || value === null) view.get().setUint8(ptr, 0);
      else {
        view.get().setUint8(ptr, 1);
        store(guest, view, t.of, value, ptr + t.payload);
      }
      return;
    case 'record': {
      if (typeof value !== 'object' || value === null) throw new TypeError(`expected a record, got ${typeof value}`);
      const r = value as Record<string, unknown>;
      for (const f of t.fields) store(guest, view, f.type, r[f.key], ptr + f.offset);
      return;
    }
    case 'tuple': {
      if (!Array.isArray(value)) throw new TypeError(`expected a tuple, got ${typeof value}`);
      for (let i = 0; i < t.items.length; i++) store(guest, view, t.items[i], value[i], ptr + t.offsets[i]);
      return;
    }
    case 'enum': {
      const index = t.cases.indexOf(value as string);
      if (index < 0) throw new TypeError(`expected one of ${t.cases.join(', ')}, got ${String(value)}`);
      storeCase(view, t.cases.length, index, ptr);
      return;
    }
    case 'variant': {
      const tag = (value as { tag?: unknown } | null)?.tag;
      const index = t.cases.findIndex(([name]) => name === tag);
      if (index < 0)
        throw new TypeError(`expected a variant of ${t.cases.map(([n]) => n).join(', ')}, got ${String(tag)}`);
      storeCase(view, t.cases.length, index, ptr);
      const payload = t.cases[index][1];
      if (payload) store(guest, view, payload, (value as { val: unknown }).val, ptr + t.payload);
      return;
    }
  }
}

function loadCase(dv: DataView, count: number, ptr: number, what: string): number {
  const size = discriminantSize(count);
  const index = size === 1 ? dv.getUint8(ptr) : size === 2 ? dv.getUint16(ptr, true) : dv.getUint32(ptr, true);
  if (index >= count) throw new TypeError(`invalid discriminant ${index} for ${what}`);
  return index;
}

/** Reads a value of type `t` at `ptr`; throws on a bad pointer, length or discriminant. */
function load(memory: WebAssembly.Memory, dv: DataView, t: WitType, ptr: number): unknown {
  switch (t.kind) {
    case 'bool': {
      const b = dv.getUint8(ptr);
      if (b > 1) throw new TypeError(`invalid bool ${b}`);
      return b === 1;
    }
    case 'u8':
      return dv.getUint8(ptr);
    case 'u16':
      return dv.getUint16(ptr, true);
    case 'u32':
      return dv.getUint32(ptr, true);
    case 'u64':
      return dv.getBigUint64(ptr, true);
    case 's64':
      return dv.getBigInt64(ptr, true);
    case 'string': {
      const at = dv.getUint32(ptr, true);
      const len = dv.getUint32(ptr + 4, true);
      return decoder.decode(new Uint8Array(memory.buffer, at, len)); // out of bounds: a RangeError
    }
    case 'list': {
      const base = dv.getUint32(ptr, true);
      const len = dv.getUint32(ptr + 4, true);
      if (base % t.of.align !== 0) throw new TypeError(`list pointer ${base} is not aligned to ${t.of.align}`);
      if (base + len * t.of.size > memory.buffer.byteLength)
        throw new TypeError(`a list of ${len} at ${base} is out of bounds`);
      const out: unknown[] = [];
      for (let i = 0; i < len; i++) out.push(load(memory, dv, t.of, base + i * t.of.size));
      return out;
    }
    case 'option':
      return loadCase(dv, 2, ptr, 'option') === 0 ? undefined : load(memory, dv, t.of, ptr + t.payload);
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[f.key] = load(memory, dv, f.type, ptr + f.offset);
      return out;
    }
    case 'tuple':
      return t.items.map((item, i) => load(memory, dv, item, ptr + t.offsets[i]));
    case 'enum':
      return t.cases[loadCase(dv, t.cases.length, ptr, `enum ${t.cases.join('|')}`)];
    case 'variant': {
      const [tag, payload] = t.cases[loadCase(dv, t.cases.length, ptr, 'variant')];
      return payload ? { tag, val: load(memory, dv, payload, ptr + t.payload) } : { tag };
    }
  }
}

/**
 * Lowers one argument the way a function whose parameters do not fit in 16 core values takes
 * them: written to memory the guest allocates; returns its address.
 */
export function lowerToMemory(guest: Guest, t: WitType, value: unknown): number {
  const ptr = allocate(guest, t.align, t.size);
  store(guest, new View(guest.memory), t, value, ptr);
  return ptr;
}

/** Lifts a result returned in memory (a result of more than one core value): `ptr` is what the call returned. */
export function liftFromMemory(memory: WebAssembly.Memory, t: WitType, ptr: number): unknown {
  if (ptr % t.align !== 0) throw new TypeError(`result pointer ${ptr} is not aligned to ${t.align}`);
  return load(memory, new DataView(memory.buffer), t, ptr);
}
