// The WebAssembly binary checks box does itself, before handing a policy to jco: is the file a
// component (not a core module), in the binary format version box understands, and complete
// (every section's declared size fits in the file)? And the one rewrite it does: giving a core
// module's memories a maximum, so that a policy's linear memory cannot grow past the limit.
//
// Binary layout (both kinds): the magic "\0asm", then a 16-bit version and a 16-bit layer,
// little-endian. A core module has version 1, layer 0; a component has layer 1 and (today)
// version 0x0d. Then sections: an id byte, a LEB128 u32 size, the contents.
import { BoxError } from '../errors';

export const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);
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

function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } | undefined {
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

function encodeU32(value: number): number[] {
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

function sections(bytes: Uint8Array, what: string): Section[] {
  const out: Section[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset];
    const size = readU32(bytes, offset + 1);
    if (!size) throw new PolicyFormatError(`${what} is truncated or malformed: section ${id} at byte ${offset} has no valid size`);
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
    throw new PolicyFormatError(`${what} has WebAssembly layer ${layer}, which box does not know (components are layer 1)`);
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
 * Returns a copy of a core module whose memories all have a maximum of at most `maxBytes`
 * (rounded down to whole pages). Memories that already have a smaller maximum keep it. Throws
 * when a memory's initial size is already above the limit, or uses a format box does not patch
 * (64-bit or shared memories).
 */
export function limitCoreMemories(bytes: Uint8Array, maxBytes: number, what: string): Uint8Array {
  const maxPages = Math.floor(maxBytes / WASM_PAGE);
  const memSection = sections(bytes, what).find((s) => s.id === 5);
  if (!memSection) return bytes;
  const count = readU32(bytes, memSection.body);
  if (!count) throw new PolicyFormatError(`${what}: malformed memory section`);
  const body: number[] = [...encodeU32(count.value)];
  let p = count.next;
  for (let i = 0; i < count.value; i++) {
    const flags = bytes[p++];
    if (flags !== 0 && flags !== 1) {
      throw new PolicyFormatError(`${what}: memory ${i} is shared or 64-bit (limits flags 0x${flags.toString(16)}), which box does not run`);
    }
    const min = readU32(bytes, p);
    if (!min) throw new PolicyFormatError(`${what}: malformed memory limits`);
    p = min.next;
    let max = maxPages;
    if (flags === 1) {
      const declared = readU32(bytes, p);
      if (!declared) throw new PolicyFormatError(`${what}: malformed memory limits`);
      p = declared.next;
      max = Math.min(declared.value, maxPages);
    }
    if (min.value > maxPages) {
      throw new PolicyFormatError(
        `${what}: its memory starts at ${(min.value * WASM_PAGE) / 1048576} MiB, above the memory limit of ${maxBytes / 1048576} MiB`,
      );
    }
    body.push(1, ...encodeU32(min.value), ...encodeU32(max));
  }
  if (p !== memSection.end) throw new PolicyFormatError(`${what}: malformed memory section`);
  const header = [5, ...encodeU32(body.length)];
  return Buffer.concat([
    bytes.subarray(0, memSection.start),
    Buffer.from(header),
    Buffer.from(body),
    bytes.subarray(memSection.end),
  ]);
}
