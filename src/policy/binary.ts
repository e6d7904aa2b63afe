// The WebAssembly binary checks box does itself, before handing a policy to jco: is the file a
// component (not a core module), in the binary format version box understands, and complete
// (every section's declared size fits in the file)? And the one rewrite it does: giving a
// policy's memories and tables a maximum, so that together they cannot grow past the limit.
//
// Binary layout (both kinds): the magic "\0asm", then a 16-bit version and a 16-bit layer,
// little-endian. A core module has version 1, layer 0; a component has layer 1 and (today)
// version 0x0d. Then sections: an id byte, a LEB128 u32 size, the contents.
import { BoxError } from '../errors';

// (a Uint8Array: Buffer.from(array) made when the module loads cost a start with a built-in ~30 us)
export const WASM_MAGIC = new Uint8Array([0x00, 0x61, 0x73, 0x6d]);
export const COMPONENT_VERSION = 0x0d;
export const COMPONENT_LAYER = 1;
export const WASM_PAGE = 65536;

export type BinaryKind = 'component' | 'core-module';

export interface BinaryInfo {
  kind: BinaryKind;
  version: number;
  layer: number;
  size: number;
  sections: number;
}

export class PolicyFormatError extends BoxError {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFormatError';
  }
}

export function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } | undefined {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (offset + i >= bytes.length) return undefined;
    const b = bytes[offset + i];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value: result, next: offset + i + 1 };
    shift += 7;
  }
  return undefined;
}

export function encodeU32(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

interface Section {
  id: number;
  /** offset of the id byte */
  start: number;
  /** offset of the contents */
  body: number;
  end: number;
}

export function sections(bytes: Uint8Array, what: string): Section[] {
  const out: Section[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset];
    const size = readU32(bytes, offset + 1);
    if (!size)
      throw new PolicyFormatError(
        `${what} is truncated or malformed: section ${id} at byte ${offset} has no valid size`,
      );
    const end = size.next + size.value;
    if (end > bytes.length) {
      throw new PolicyFormatError(
        `${what} is truncated: section ${id} at byte ${offset} needs ${size.value} bytes, but the file ends at byte ${bytes.length}`,
      );
    }
    out.push({ id, start: offset, body: size.next, end });
    offset = end;
  }
  return out;
}

/**
 * Checks the preamble and the section structure. Throws PolicyFormatError with a message meant
 * for the user (`what` names the file) for anything that is not a complete component.
 */
export function checkComponentBinary(bytes: Uint8Array, what: string): BinaryInfo {
  if (bytes.length < 8) {
    throw new PolicyFormatError(
      bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).equals(WASM_MAGIC)
        ? `${what} is truncated: ${bytes.length} bytes, not even a WebAssembly header`
        : `${what} is not a WebAssembly file (${bytes.length} bytes)`,
    );
  }
  if (!Buffer.from(bytes.subarray(0, 4)).equals(WASM_MAGIC)) {
    throw new PolicyFormatError(`${what} is not a WebAssembly file (it does not start with \\0asm)`);
  }
  const version = bytes[4] | (bytes[5] << 8);
  const layer = bytes[6] | (bytes[7] << 8);
  if (layer === 0) {
    throw new PolicyFormatError(
      `${what} is a core WebAssembly module (version ${version}), not a component: a policy must be a component ` +
        `exporting the box:policy world (build it with \`box policy build\`, or wrap a module with \`wasm-tools component new\`)`,
    );
  }
  if (layer !== COMPONENT_LAYER) {
    throw new PolicyFormatError(
      `${what} has WebAssembly layer ${layer}, which box does not know (components are layer 1)`,
    );
  }
  if (version !== COMPONENT_VERSION) {
    throw new PolicyFormatError(
      `${what} is a component in binary format version 0x${version.toString(16)}; this box reads version 0x${COMPONENT_VERSION.toString(16)}`,
    );
  }
  const secs = sections(bytes, what);
  if (secs.length === 0) throw new PolicyFormatError(`${what} is truncated: a component header with no sections`);
  return { kind: 'component', version, layer, size: bytes.length, sections: secs.length };
}

/**
 * What a funcref/externref table entry costs the host, in bytes: V8 keeps a tagged pointer and a
 * dispatch entry (signature, target, instance) per slot; 20 tables of 10M entries took 5.5 GB
 * (measured 2026-12-04 on the 2-core dev VM).
 */
export const TABLE_ENTRY_BYTES = 32;

interface Growable {
  kind: 'memory' | 'table';
  /** index of the module, and of the entry in its section */
  module: number;
  index: number;
  /** the table's element type byte (tables only) */
  refType?: number;
  min: number;
  max?: number;
  /** bytes per unit: a page or a table entry */
  unit: number;
}

/** Parses the memory (id 5) or table (id 4) section of a core module into its limits. */
function readGrowables(
  bytes: Uint8Array,
  sec: Section,
  kind: Growable['kind'],
  module: number,
  what: string,
): Growable[] {
  const malformed = (): never => {
    throw new PolicyFormatError(`${what}: malformed ${kind} section`);
  };
  const count = readU32(bytes, sec.body) ?? malformed();
  const out: Growable[] = [];
  let p = count.next;
  for (let i = 0; i < count.value; i++) {
    let refType: number | undefined;
    if (kind === 'table') {
      refType = bytes[p++];
      if (refType !== 0x70 && refType !== 0x6f) {
        const type = refType?.toString(16);
        throw new PolicyFormatError(
          `${what}: table ${i} has element type 0x${type} or an initialiser, which box does not run`,
        );
      }
    }
    const flags = bytes[p++];
    if (flags !== 0 && flags !== 1) {
      const hex = flags?.toString(16);
      throw new PolicyFormatError(
        `${what}: ${kind} ${i} is shared or 64-bit (limits flags 0x${hex}), which box does not run`,
      );
    }
    const min = readU32(bytes, p) ?? malformed();
    p = min.next;
    let max: number | undefined;
    if (flags === 1) {
      const declared = readU32(bytes, p) ?? malformed();
      p = declared.next;
      max = declared.value;
    }
    const unit = kind === 'memory' ? WASM_PAGE : TABLE_ENTRY_BYTES;
    out.push({ kind, module, index: i, refType, min: min.value, max, unit });
  }
  if (p !== sec.end) malformed();
  return out;
}

function writeGrowables(id: number, entries: Growable[]): Buffer {
  const body: number[] = [...encodeU32(entries.length)];
  for (const g of entries) {
    if (g.refType !== undefined) body.push(g.refType);
    body.push(1, ...encodeU32(g.min), ...encodeU32(g.max as number));
  }
  return Buffer.from([id, ...encodeU32(body.length), ...body]);
}

const mib = (n: number): string => `${Math.round((n / 1048576) * 10) / 10} MiB`;

/**
 * Returns copies of a policy's core modules whose memories and tables all have a maximum, such
 * that all of them together, at their maximum sizes, fit in `maxBytes` (tables counted at
 * TABLE_ENTRY_BYTES an entry): memory.grow and table.grow fail in the guest past it. What they
 * need at instantiation comes first; the rest is shared equally by those that may grow (a
 * declared maximum below the share is kept). Throws, before anything is instantiated, when their
 * initial sizes alone exceed the limit, or for a format box does not patch (64-bit or shared
 * memories, tables with an initialiser).
 */
export function limitCoreResources(modules: Uint8Array[], maxBytes: number, what: string): Uint8Array[] {
  const parsed = modules.map((bytes, m) => {
    const secs = sections(bytes, what);
    const memory = secs.find((s) => s.id === 5);
    const table = secs.find((s) => s.id === 4);
    return {
      memory,
      table,
      memories: memory ? readGrowables(bytes, memory, 'memory', m, what) : [],
      tables: table ? readGrowables(bytes, table, 'table', m, what) : [],
    };
  });
  const all = parsed.flatMap((p) => [...p.memories, ...p.tables]);
  const initial = all.reduce((n, g) => n + g.min * g.unit, 0);
  if (initial > maxBytes) {
    const entries = all.filter((g) => g.kind === 'table').reduce((n, g) => n + g.min, 0);
    const pages = all.filter((g) => g.kind === 'memory').reduce((n, g) => n + g.min, 0);
    throw new PolicyFormatError(
      `${what}: its memories (${mib(pages * WASM_PAGE)}) and tables ` +
        `(${entries} entries, ${mib(entries * TABLE_ENTRY_BYTES)}) ` +
        `need ${mib(initial)} before it runs, above the policy memory limit of ${mib(maxBytes)}`,
    );
  }
  const growing = all.filter((g) => g.max === undefined || g.max > g.min);
  const share = growing.length ? Math.floor((maxBytes - initial) / growing.length) : 0;
  for (const g of all) g.max = Math.min(g.max ?? Infinity, g.min + Math.floor(share / g.unit));
  return modules.map((bytes, m) => {
    const p = parsed[m];
    const replaced: Array<{ sec: Section; with: Buffer }> = [];
    if (p.table) replaced.push({ sec: p.table, with: writeGrowables(4, p.tables) });
    if (p.memory) replaced.push({ sec: p.memory, with: writeGrowables(5, p.memories) });
    replaced.sort((a, b) => a.sec.start - b.sec.start);
    if (!replaced.length) return bytes;
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const r of replaced) {
      parts.push(bytes.subarray(at, r.sec.start), r.with);
      at = r.sec.end;
    }
    parts.push(bytes.subarray(at));
    return Buffer.concat(parts);
  });
}

/** Whether a core module has a start function: guest code its instantiation runs. */
export function hasStartFunction(module: Uint8Array, what: string): boolean {
  return sections(module, what).some((s) => s.id === 8);
}

/**
 * The core modules a component embeds directly (its top-level core module sections, id 1), in
 * order; `what` names it in errors. Nested components (section 4) are not looked into.
 */
export function componentCoreModules(bytes: Uint8Array, what: string): Uint8Array[] {
  return sections(bytes, what)
    .filter((s) => s.id === 1)
    .map((s) => bytes.subarray(s.body, s.end));
}
