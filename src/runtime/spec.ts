// The instructions handed to box-helper (native/PROTOCOL.md): a list of records, each an op name
// followed by string arguments, length-prefixed so any byte (newlines in env values, raw BPF) fits.
// Ops and their arguments are typed from the op table (ops.ts).
import { argCount, OPS, OpArgs, OpName } from './ops';

export const SPEC_MAGIC = Buffer.from('BOXSPEC\0', 'latin1');
/** The helper protocol: 2 added the control channel (go or abort once the init exists). */
export const SPEC_VERSION = 2;

export type SpecArg = string | number | bigint | Buffer;

export class HelperSpec {
  /** each record's op name and arguments, kept as given (numbers as text) until encode writes them */
  private readonly records: (string | Buffer)[][] = [];

  op<N extends OpName>(name: N, ...args: OpArgs<N>): this {
    const [min, max] = argCount(OPS[name].args);
    if (args.length < min || args.length > max) throw new Error(`helper op ${name}: ${args.length} arguments`);
    return this.record(name, ...(args as SpecArg[]));
  }

  /** A record as given, unchecked: for tests that hand the helper a malformed spec. */
  record(name: string, ...args: SpecArg[]): this {
    this.records.push([name, ...args].map((v) => (Buffer.isBuffer(v) ? v : String(v))));
    return this;
  }

  /** Op names in order; for tests and debugging. */
  ops(): string[] {
    return this.records.map((r) => r[0].toString());
  }

  /**
   * The spec's bytes, written into one buffer: a start's spec has hundreds of fields, and a Buffer
   * made per length prefix and per string (then concatenated) was ~250 KB of garbage per start.
   */
  encode(): Buffer {
    // at most 3 bytes of UTF-8 per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units)
    let bound = SPEC_MAGIC.length + 4;
    for (const rec of this.records) {
      bound += 4;
      for (const v of rec) bound += 4 + (typeof v === 'string' ? v.length * 3 : v.length);
    }
    const out = Buffer.allocUnsafe(bound);
    let at = SPEC_MAGIC.copy(out, 0);
    at = out.writeUInt32LE(SPEC_VERSION, at);
    for (const rec of this.records) {
      at = out.writeUInt32LE(rec.length, at);
      for (const v of rec) {
        const len = typeof v === 'string' ? out.write(v, at + 4, 'utf8') : v.copy(out, at + 4);
        at = out.writeUInt32LE(len, at) + len;
      }
    }
    return out.subarray(0, at);
  }
}

/** Decodes an encoded spec back into records (used by unit tests). */
export function decodeSpec(buf: Buffer): string[][] {
  if (!buf.subarray(0, 8).equals(SPEC_MAGIC)) throw new Error('bad magic');
  let off = 12;
  const out: string[][] = [];
  while (off < buf.length) {
    const argc = buf.readUInt32LE(off);
    off += 4;
    const rec: string[] = [];
    for (let i = 0; i < argc; i++) {
      const len = buf.readUInt32LE(off);
      off += 4;
      rec.push(buf.subarray(off, off + len).toString('latin1'));
      off += len;
    }
    out.push(rec);
  }
  return out;
}

// Linux constants the spec carries as numbers.
export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  NOATIME: 1024,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  STRICTATIME: 1 << 24,
  RELATIME: 1 << 21,
} as const;
