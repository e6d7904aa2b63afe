// Writing tar archives (POSIX ustar, with PAX extended headers for what ustar cannot hold: long
// names and link targets, large sizes and ids, extended attributes), to a stream with
// backpressure, so `box save` and `box export` never hold more than a chunk in memory.
import { BoxError } from '../errors';
import { TarEntryType } from './tar-reader';

export interface TarHeaderFields {
  /** relative name; directories get their trailing "/" added */
  path: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  /** bytes of content (regular files only) */
  size?: number;
  /** seconds since the epoch */
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

/**
 * An octal field: len - 1 digits and a NUL. Digit by digit into the block (a string per field
 * made a 5,000-file layer's headers cost 50 ms); a value too large for the field keeps the
 * string's form, its first len digits.
 */
function octal(buf: Buffer, off: number, len: number, v: number): void {
  let n = Math.max(0, Math.floor(v));
  if (n >= 8 ** (len - 1)) {
    buf.write(n.toString(8), off, len, 'latin1');
    return;
  }
  buf[off + len - 1] = 0;
  for (let i = off + len - 2; i >= off; i--) {
    buf[i] = 0x30 + (n % 8);
    n = Math.floor(n / 8);
  }
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length counts its own digits.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

const padding = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** The zero bytes after `size` bytes of content, up to the next block (shared: never write to it). */
export const tarPadding = (size: number): Buffer => ZERO_BLOCK.subarray(0, padding(size));

/** The end-of-archive marker: two zero blocks (shared: never write to it). */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);

/** Splits a name into ustar's prefix (155 bytes) and name (100 bytes), if it fits. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) return undefined;
    if (rest && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  return undefined;
}

/** What every ustar header block has: the magic and version, and spaces in the checksum field. */
const USTAR_TEMPLATE = (() => {
  const b = Buffer.alloc(BLOCK);
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.fill(0x20, 148, 156);
  return b;
})();

function ustarBlock(h: TarHeaderFields, name: string, prefix: string, typeflag: string, size: number): Buffer {
  const b = Buffer.allocUnsafe(BLOCK);
  USTAR_TEMPLATE.copy(b);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, Math.min(h.uid ?? 0, MAX_OCTAL_8));
  octal(b, 116, 8, Math.min(h.gid ?? 0, MAX_OCTAL_8));
  octal(b, 124, 12, Math.min(size, MAX_OCTAL_12));
  octal(b, 136, 12, Math.min(h.mtime ?? 0, MAX_OCTAL_12));
  b[156] = typeflag.charCodeAt(0);
  if (h.linkpath) b.write(h.linkpath, 157, 100, 'utf8');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  if (prefix) b.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  octal(b, 148, 7, sum); // six digits and a NUL, then the space that is there already
  return b;
}

/** The header block(s) of one entry: a PAX extended header first when ustar cannot say it all. */
export function tarHeader(h: TarHeaderFields): Buffer {
  let name = h.path.replace(/^\/+/, '');
  if (h.type === 'dir' && name !== '' && !name.endsWith('/')) name += '/';
  if (name === '') name = './';
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const pax: Buffer[] = [];
  let split = splitName(name);
  if (!split) {
    pax.push(paxRecord('path', Buffer.from(name, 'utf8')));
    split = { prefix: '', name: name.slice(0, 99) };
  }
  if (h.linkpath && Buffer.byteLength(h.linkpath) > 100)
    pax.push(paxRecord('linkpath', Buffer.from(h.linkpath, 'utf8')));
  if (size > MAX_OCTAL_12) pax.push(paxRecord('size', Buffer.from(String(size))));
  if ((h.uid ?? 0) > MAX_OCTAL_8) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if ((h.gid ?? 0) > MAX_OCTAL_8) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if ((h.mtime ?? 0) > MAX_OCTAL_12 || (h.mtime ?? 0) < 0) pax.push(paxRecord('mtime', Buffer.from(String(h.mtime))));
  for (const [k, v] of h.xattrs ?? []) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const entry = ustarBlock(
    { ...h, linkpath: h.linkpath && Buffer.byteLength(h.linkpath) > 100 ? h.linkpath.slice(0, 99) : h.linkpath },
    split.name,
    split.prefix,
    TYPEFLAG[h.type],
    size,
  );
  if (!pax.length) return entry;
  const body = Buffer.concat(pax);
  const paxName = `PaxHeaders/${split.name}`.slice(0, 99);
  const paxHeader = ustarBlock(
    { path: paxName, type: 'file', mode: 0o644, mtime: h.mtime },
    paxName,
    '',
    'x',
    body.length,
  );
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), entry]);
}

/**
 * A tar archive written to a stream. Each write waits while the stream is full, and a failure of
 * the stream (a closed pipe, a full disk) rejects the next call.
 */
export class TarStream {
  private failed?: Error;
  bytes = 0;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', (err: Error) => {
      this.failed ??= err;
    });
  }

  write(b: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.bytes += b.length;
    if (this.out.write(b)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        this.out.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      const onClose = () => done(this.failed ?? new BoxError('the output was closed'));
      this.out.on('drain', onDrain);
      this.out.on('error', onError);
      this.out.on('close', onClose);
    });
  }

  /** One entry: its header, then its content (exactly h.size bytes for a file) and padding. */
  async add(h: TarHeaderFields, content?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    await this.write(tarHeader(h));
    if (h.type !== 'file') return;
    const size = h.size ?? 0;
    let written = 0;
    if (content) {
      const pieces: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(content) ? [content] : content;
      for await (const piece of pieces) {
        written += piece.length;
        if (written > size)
          throw new BoxError(
            `${h.path}: more content than the ${size} bytes announced (it changed while being archived)`,
          );
        await this.write(piece);
      }
    }
    if (written !== size)
      throw new BoxError(
        `${h.path}: ${written} bytes of content instead of the ${size} announced (it changed while being archived)`,
      );
    const pad = padding(size);
    if (pad) await this.write(Buffer.alloc(pad));
  }

  /** The end-of-archive marker. */
  async finish(): Promise<void> {
    await this.write(TAR_END);
  }
}
