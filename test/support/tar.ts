// Hand-made tar archives for tests: every header field under the test's control, so malicious
// archives (traversal, symlink escapes, odd types) can be written exactly.
const TYPES = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  pax: 'x',
  globalPax: 'g',
  longName: 'L',
} as const;

export interface HandEntry {
  path: string;
  type?: keyof typeof TYPES;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkpath?: string;
  data?: Buffer | string;
  devmajor?: number;
  devminor?: number;
  /** PAX records written in an 'x' header before this entry */
  pax?: Record<string, string | Buffer>;
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function header(e: HandEntry, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.path.slice(0, 100), 0, 100, 'utf8');
  octal(b, 100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, e.mtime ?? 1_600_000_000);
  b.write(TYPES[e.type ?? 'file'], 156, 1, 'latin1');
  if (e.linkpath) b.write(e.linkpath.slice(0, 100), 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  octal(b, 329, 8, e.devmajor ?? 0);
  octal(b, 337, 8, e.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

function paxBody(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const kv = Buffer.concat([Buffer.from(` ${k}=`), Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\n')]);
    let len = kv.length + 1;
    while (String(len).length + kv.length !== len) len = String(len).length + kv.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), kv]));
  }
  return Buffer.concat(parts);
}

/** A complete tar archive (with the two zero blocks at the end). */
export function makeTar(entries: HandEntry[], opts: { endMarker?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = paxBody(e.pax);
      out.push(header({ path: 'PaxHeader', type: 'pax', mode: 0o644 }, body.length), body, pad(body.length));
    }
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    out.push(header(e, data.length), data, pad(data.length));
  }
  if (opts.endMarker !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
