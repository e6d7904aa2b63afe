// The instructions handed to box-helper (native/PROTOCOL.md): a list of records, each an op name
// followed by string arguments, length-prefixed so any byte (newlines in env values, raw BPF) fits.
// Ops and their arguments are typed from the op table (ops.ts).
import { argCount, OPS, OpArgs, OpName } from './ops';

export const SPEC_MAGIC = Buffer.from('BOXSPEC\0', 'latin1');
/** The helper protocol: 2 added the control channel (go or abort once the init exists). */
export const SPEC_VERSION = 2;

export type SpecArg = string | number | bigint | Buffer;

export class HelperSpec {
  private readonly records: Buffer[][] = [];

  op<N extends OpName>(name: N, ...args: OpArgs<N>): this {
    const [min, max] = argCount(OPS[name].args);
    if (args.length < min || args.length > max) throw new Error(`helper op ${name}: ${args.length} arguments`);
    return this.record(name, ...(args as SpecArg[]));
  }

  /** A record as given, unchecked: for tests that hand the helper a malformed spec. */
  record(name: string, ...args: SpecArg[]): this {
    this.records.push([name, ...args].map(toBytes));
    return this;
  }

  /** Op names in order; for tests and debugging. */
  ops(): string[] {
    return this.records.map((r) => r[0].toString('utf8'));
  }

  encode(): Buffer {
    const parts: Buffer[] = [SPEC_MAGIC, u32(SPEC_VERSION)];
    for (const rec of this.records) {
      parts.push(u32(rec.length));
      for (const s of rec) parts.push(u32(s.length), s);
    }
    return Buffer.concat(parts);
  }
}

function toBytes(v: SpecArg): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
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
