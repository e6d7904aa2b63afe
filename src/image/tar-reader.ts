// A streaming tar reader: bytes are pushed in with write() in chunks of any size, and the sink is
// told about each entry, its data and its end, synchronously. It reads POSIX ustar, PAX extended
// headers (path, linkpath, size, uid, gid, mtime, atime and SCHILY.xattr.* / LIBARCHIVE.xattr.*
// extended attributes, byte-exact) and GNU long names (L/K), with octal or base-256 numbers.
//
// box has its own reader rather than node-tar's Parser because that parser keeps only some PAX
// keys (extended attributes are dropped, so file capabilities would be lost), decodes PAX records
// as text (attribute values are binary) and skips headers with a bad checksum instead of failing.
import { BoxError } from '../errors';

/** Seconds and nanoseconds since the epoch (PAX times have nanosecond precision). */
export interface TarTime {
  sec: number;
  nsec: number;
}

/** A PAX decimal time ("1234567890.123456789", possibly negative) without losing precision. */
export function parseTarTime(s: string): TarTime | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) return undefined;
  let sec = Number(m[2]);
  let nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[1]) {
    sec = -sec;
    if (nsec) {
      sec -= 1;
      nsec = 1e9 - nsec;
    }
  }
  return { sec, nsec };
}

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  /** The name as written in the archive (PAX / GNU long names applied), not normalised. */
  path: string;
  type: TarEntryType;
  /** Permission bits, including setuid, setgid and sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (regular files only; 0 for everything else). */
  size: number;
  mtime: TarTime;
  atime?: TarTime;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX records, name -> raw value. */
  xattrs: Map<string, Buffer>;
}

export interface TarSink {
  entry(e: TarEntry): void;
  /** A piece of the current entry's data (a view into the caller's chunk: copy it to keep it). */
  data(chunk: Buffer): void;
  endEntry(e: TarEntry): void;
  /**
   * Every byte that is not an entry's data (headers, extended headers, padding, the end marker and
   * whatever follows it), in stream order, interleaved with data(): together they are the stream.
   * A view into the caller's chunk, as with data().
   */
  raw?(bytes: Buffer): void;
}

export class TarFormatError extends BoxError {}

const BLOCK = 512;
const MAX_META = 16 * 1024 * 1024;

type State = 'header' | 'data' | 'meta' | 'skip' | 'eof';

interface PaxValues {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: TarTime;
  atime?: TarTime;
  devmajor?: number;
  devminor?: number;
  xattrs: Map<string, Buffer>;
  sparse?: boolean;
}

function parseNumber(buf: Buffer, off: number, len: number): number {
  const first = buf[off];
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement; 0x80 marks a positive value.
    if (first === 0xff) return -1;
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[off + i];
    return v;
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++; // leading spaces (and an empty field)
  for (; i < end; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x37) break; // NUL or space ends the number
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function parseString(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

function checksumOk(buf: Buffer, off: number): boolean {
  const want = parseNumber(buf, off + 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : buf[off + i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/** PAX records: "LEN KEY=VALUE\n", LEN counting the whole record. Values stay bytes. */
function parsePax(body: Buffer, into: PaxValues, entryName: () => string): void {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // NUL padding after the last record
    const sp = body.indexOf(0x20, pos);
    const len = sp < 0 ? NaN : Number(body.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw new TarFormatError(`invalid tar archive: malformed PAX header before "${entryName()}"`);
    }
    const rec = body.subarray(sp + 1, pos + len - 1);
    pos += len;
    const eq = rec.indexOf(0x3d);
    if (eq < 0) continue;
    const key = rec.toString('utf8', 0, eq);
    const raw = rec.subarray(eq + 1);
    const str = () => raw.toString('utf8');
    const num = () => {
      const n = Number(str());
      return Number.isFinite(n) ? n : undefined;
    };
    switch (key) {
      case 'path':
        into.path = str();
        break;
      case 'linkpath':
        into.linkpath = str();
        break;
      case 'size':
        into.size = num();
        break;
      case 'uid':
        into.uid = num();
        break;
      case 'gid':
        into.gid = num();
        break;
      case 'mtime':
        into.mtime = parseTarTime(str());
        break;
      case 'atime':
        into.atime = parseTarTime(str());
        break;
      case 'SCHILY.devmajor':
        into.devmajor = num();
        break;
      case 'SCHILY.devminor':
        into.devminor = num();
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          into.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(raw));
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          into.xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(raw.toString('latin1'), 'base64'));
        } else if (key.startsWith('GNU.sparse.')) {
          into.sparse = true;
        }
    }
  }
}

/** A push parser: call write() with consecutive chunks, then end(). Errors are thrown. */
export class TarReader {
  private state: State = 'header';
  private partial: Buffer | null = null; // an incomplete header block
  private partialLen = 0;
  private remain = 0; // data or meta bytes left in the current entry
  private pad = 0; // padding bytes after the data
  private meta: Buffer[] = [];
  private metaType = '';
  private metaLen = 0;
  private pax: PaxValues = { xattrs: new Map() };
  private globalPax: PaxValues = { xattrs: new Map() };
  private longName?: string;
  private longLink?: string;
  private current?: TarEntry;
  private offset = 0; // stream offset of the next byte, for messages
  private headers = 0;
  /** True once the end-of-archive marker (a zero block) has been read. */
  sawEnd = false;

  constructor(private readonly sink: TarSink) {}

  write(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      switch (this.state) {
        case 'header': {
          if (this.partial || n - pos < BLOCK) {
            if (!this.partial) {
              this.partial = Buffer.allocUnsafe(BLOCK);
              this.partialLen = 0;
            }
            const take = Math.min(BLOCK - this.partialLen, n - pos);
            chunk.copy(this.partial, this.partialLen, pos, pos + take);
            this.sink.raw?.(chunk.subarray(pos, pos + take));
            this.partialLen += take;
            pos += take;
            if (this.partialLen < BLOCK) return;
            const block = this.partial;
            this.partial = null;
            this.header(block, 0);
          } else {
            this.sink.raw?.(chunk.subarray(pos, pos + BLOCK));
            this.header(chunk, pos);
            pos += BLOCK;
          }
          this.offset += BLOCK;
          break;
        }
        case 'data': {
          const take = Math.min(this.remain, n - pos);
          if (take > 0) this.sink.data(chunk.subarray(pos, pos + take));
          pos += take;
          this.offset += take;
          this.remain -= take;
          if (this.remain === 0) {
            const e = this.current!;
            this.current = undefined;
            this.state = this.pad ? 'skip' : 'header';
            this.sink.endEntry(e);
          }
          break;
        }
        case 'meta': {
          const take = Math.min(this.remain, n - pos);
          this.meta.push(Buffer.from(chunk.subarray(pos, pos + take)));
          this.sink.raw?.(chunk.subarray(pos, pos + take));
          pos += take;
          this.offset += take;
          this.remain -= take;
          if (this.remain === 0) {
            this.state = this.pad ? 'skip' : 'header';
            this.finishMeta();
          }
          break;
        }
        case 'skip': {
          const take = Math.min(this.pad, n - pos);
          this.sink.raw?.(chunk.subarray(pos, pos + take));
          pos += take;
          this.offset += take;
          this.pad -= take;
          if (this.pad === 0) this.state = 'header';
          break;
        }
        case 'eof':
          // Everything after the end marker (the second zero block, record padding) is ignored.
          this.sink.raw?.(chunk.subarray(pos));
          this.offset += n - pos;
          return;
      }
    }
  }

  /** The input has ended: fails if it ended inside an entry. */
  end(): void {
    if (this.state === 'eof') return;
    if (this.state === 'header' && !this.partial && !this.current && this.meta.length === 0 && !this.longName && !this.longLink) {
      if (this.headers === 0 && this.offset === 0) throw new TarFormatError('invalid tar archive: the input is empty');
      return; // no end-of-archive marker: accepted, as GNU tar does
    }
    if (this.headers === 0 && !this.current) {
      throw new TarFormatError(`invalid tar archive: the input is not a tar stream (${this.offset + this.partialLen} bytes, less than one header)`);
    }
    const what = this.current ? `inside the data of "${this.current.path}"` : 'inside a header';
    throw new TarFormatError(`truncated tar archive: the input ended ${what} (after ${this.offset} bytes)`);
  }

  private header(buf: Buffer, off: number): void {
    if (isZeroBlock(buf, off)) {
      this.state = 'eof';
      this.sawEnd = true;
      return;
    }
    if (!checksumOk(buf, off)) {
      throw new TarFormatError(
        this.headers === 0
          ? 'invalid tar archive: the input is not a tar stream (bad header checksum at offset 0)'
          : `invalid tar archive: bad header checksum at offset ${this.offset}`,
      );
    }
    this.headers++;
    const typeflag = String.fromCharCode(buf[off + 156] || 0x30);
    const magic = buf.toString('latin1', off + 257, off + 263);
    let name = parseString(buf, off, 100);
    if (magic === 'ustar\0') {
      const prefix = parseString(buf, off + 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const size = parseNumber(buf, off + 124, 12);
    if (size < 0) throw new TarFormatError(`invalid tar archive: negative size in the header of "${name}"`);

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`invalid tar archive: a ${size}-byte extended header before "${name}" is too large`);
      this.metaType = typeflag;
      this.metaLen = size;
      this.meta = [];
      this.remain = size;
      this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
      this.state = size ? 'meta' : 'header';
      if (!size) this.finishMeta();
      return;
    }

    const pax = this.pax;
    const g = this.globalPax;
    this.pax = { xattrs: new Map() };
    const path = pax.path ?? this.longName ?? g.path ?? name;
    const linkpath = pax.linkpath ?? this.longLink ?? g.linkpath ?? parseString(buf, off + 157, 100);
    this.longName = undefined;
    this.longLink = undefined;
    const dataSize = pax.size ?? size;
    let type: TarEntryType;
    switch (typeflag) {
      case '0':
      case '7':
        type = 'file';
        break;
      case '1':
        type = 'hardlink';
        break;
      case '2':
        type = 'symlink';
        break;
      case '3':
        type = 'char';
        break;
      case '4':
        type = 'block';
        break;
      case '5':
        type = 'dir';
        break;
      case '6':
        type = 'fifo';
        break;
      default:
        if (typeflag === 'S' || pax.sparse) throw new TarFormatError(`unsupported tar entry "${path}": sparse files are not supported`);
        // Old archives mark directories with a trailing slash only.
        if (typeflag === '\0' || typeflag === '0') type = 'file';
        else throw new TarFormatError(`unsupported tar entry "${path}": entry type '${typeflag}'`);
    }
    if (pax.sparse) throw new TarFormatError(`unsupported tar entry "${path}": sparse files are not supported`);
    if (type === 'file' && path.endsWith('/') && typeflag !== '7') type = 'dir';
    const xattrs = g.xattrs.size ? new Map([...g.xattrs, ...pax.xattrs]) : pax.xattrs;
    const entry: TarEntry = {
      path,
      type,
      mode: parseNumber(buf, off + 100, 8) & 0o7777,
      uid: pax.uid ?? g.uid ?? parseNumber(buf, off + 108, 8),
      gid: pax.gid ?? g.gid ?? parseNumber(buf, off + 116, 8),
      size: type === 'file' ? dataSize : 0,
      mtime: pax.mtime ?? g.mtime ?? { sec: parseNumber(buf, off + 136, 12), nsec: 0 },
      atime: pax.atime ?? g.atime,
      linkpath,
      devmajor: pax.devmajor ?? parseNumber(buf, off + 329, 8),
      devminor: pax.devminor ?? parseNumber(buf, off + 337, 8),
      xattrs,
    };
    // Entries other than regular files may still carry data in the archive (e.g. a hardlink
    // written with its size by some tools): it is skipped.
    const skip = type === 'file' ? 0 : dataSize;
    this.sink.entry(entry);
    if (type === 'file' && dataSize > 0) {
      this.current = entry;
      this.remain = dataSize;
      this.pad = (BLOCK - (dataSize % BLOCK)) % BLOCK;
      this.state = 'data';
    } else {
      this.sink.endEntry(entry);
      this.pad = skip + ((BLOCK - (skip % BLOCK)) % BLOCK);
      this.state = this.pad ? 'skip' : 'header';
    }
  }

  private finishMeta(): void {
    const body = Buffer.concat(this.meta, this.metaLen);
    this.meta = [];
    const next = () => this.pax.path ?? this.longName ?? '(next entry)';
    switch (this.metaType) {
      case 'x':
        parsePax(body, this.pax, next);
        break;
      case 'g':
        parsePax(body, this.globalPax, next);
        break;
      case 'L':
        this.longName = parseString(body, 0, body.length);
        break;
      case 'K':
        this.longLink = parseString(body, 0, body.length);
        break;
    }
  }
}
