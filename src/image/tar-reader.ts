// A streaming tar reader: bytes are pushed in with write() in chunks of any size, and the sink is
// told about each entry, its data and its end, synchronously. It reads POSIX ustar, PAX extended
// headers (path, linkpath, size, uid, gid, mtime, atime and SCHILY.xattr.* / LIBARCHIVE.xattr.*
// extended attributes, byte-exact) and GNU long names (L/K), with octal or base-256 numbers.
//
// Numbers are checked where they are read: a PAX value must be decimal digits (a time may have a
// sign and a fraction), an octal header field must end at a NUL or space, and every value must fit
// what the kernel takes (ids up to 2^32-2, sizes and times within 2^53): anything else is a
// one-line error naming the entry, never a value silently truncated or a RangeError later.
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
/** Tools pad an archive to a record (GNU tar: 10 KiB); a megabyte after its end is no padding. */
const MAX_TRAILING = 1 << 20;

type State = 'header' | 'data' | 'meta' | 'skip' | 'eof';

/** PAX values as written (numbers are checked when an entry uses them, so errors can name it). */
interface PaxValues {
  path?: string;
  linkpath?: string;
  size?: string;
  uid?: string;
  gid?: string;
  mtime?: string;
  atime?: string;
  devmajor?: string;
  devminor?: string;
  xattrs: Map<string, Buffer>;
  sparse?: boolean;
}

/** uid_t and gid_t: (uid_t)-1 means "leave unchanged" to chown, so it is no id. */
const MAX_ID = 2 ** 32 - 2;
/** Major and minor device numbers as glibc's makedev takes them. */
const MAX_DEV = 2 ** 32 - 1;
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/**
 * An octal header field (leading spaces or NULs, digits, then a NUL, a space or the field's end),
 * or GNU base-256: big-endian two's complement, 0x80 marking a positive value and 0xff a negative
 * one. NaN for anything else (GNU tar refuses such a field too).
 */
function parseNumber(buf: Buffer, off: number, len: number): number {
  const first = buf[off];
  if (first === 0xff) {
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + (buf[off + i] ^ 0xff);
    return -(v + 1);
  }
  if (first & 0x80) {
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
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  return i === end || buf[i] === 0 || buf[i] === 0x20 ? v : NaN;
}

/** The error for a number an entry cannot have; `shown` is what the archive says, quoted. */
function badNumber(entry: string, shown: string, expected: string): TarFormatError {
  return new TarFormatError(`invalid tar entry "${entry}": ${shown} is not ${expected}`);
}

const quoted = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

/** A whole number within 0..max, from a PAX record (decimal digits) or else a header field. */
function wholeNumber(entry: string, key: string, pax: string | undefined, header: number, max: number): number {
  const expected = `a whole number from 0 to ${max}`;
  if (pax !== undefined) {
    if (!/^\d+$/.test(pax) || Number(pax) > max) throw badNumber(entry, `PAX ${key}=${quoted(pax)}`, expected);
    return Number(pax);
  }
  if (Number.isNaN(header)) throw badNumber(entry, `the header's ${key} field`, 'an octal number');
  if (!Number.isSafeInteger(header) || header < 0 || header > max) throw badNumber(entry, `${key} ${header}`, expected);
  return header;
}

/** A time from a PAX record (seconds, a sign and a fraction allowed) or else a header field. */
function timeOf(entry: string, key: string, pax: string | undefined, header?: number): TarTime | undefined {
  const expected = 'a time in seconds within 2^53';
  if (pax !== undefined) {
    const t = parseTarTime(pax);
    if (!t || !Number.isSafeInteger(t.sec)) throw badNumber(entry, `PAX ${key}=${quoted(pax)}`, expected);
    return t;
  }
  if (header === undefined) return undefined;
  if (Number.isNaN(header)) throw badNumber(entry, `the header's ${key} field`, 'an octal number');
  if (!Number.isSafeInteger(header)) throw badNumber(entry, `${key} ${header}`, expected);
  return { sec: header, nsec: 0 };
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
    switch (key) {
      case 'path':
        into.path = str();
        break;
      case 'linkpath':
        into.linkpath = str();
        break;
      case 'size':
        into.size = str();
        break;
      case 'uid':
        into.uid = str();
        break;
      case 'gid':
        into.gid = str();
        break;
      case 'mtime':
        into.mtime = str();
        break;
      case 'atime':
        into.atime = str();
        break;
      case 'SCHILY.devmajor':
        into.devmajor = str();
        break;
      case 'SCHILY.devminor':
        into.devminor = str();
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          into.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(raw));
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          let name: string;
          try {
            name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
          } catch {
            const before = entryName();
            throw new TarFormatError(
              `invalid tar archive: a malformed attribute name in the PAX header before "${before}"`,
            );
          }
          into.xattrs.set(name, Buffer.from(raw.toString('latin1'), 'base64'));
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
  private trailing = 0; // bytes after the end marker
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
          // Everything after the end marker (the second zero block, record padding) is ignored,
          // up to a bound: /dev/zero, or gigabytes of zeros compressed to a few megabytes, would
          // otherwise be read (and hashed) without end.
          this.trailing += n - pos;
          if (this.trailing > MAX_TRAILING) {
            const limit = `${MAX_TRAILING >> 20} MiB`;
            throw new TarFormatError(`invalid tar archive: more than ${limit} of data after the end-of-archive marker`);
          }
          this.sink.raw?.(chunk.subarray(pos));
          this.offset += n - pos;
          return;
      }
    }
  }

  /** The input has ended: fails if it ended inside an entry. */
  end(): void {
    if (this.state === 'eof') return;
    if (
      this.state === 'header' &&
      !this.partial &&
      !this.current &&
      this.meta.length === 0 &&
      !this.longName &&
      !this.longLink
    ) {
      if (this.headers === 0 && this.offset === 0) throw new TarFormatError('invalid tar archive: the input is empty');
      return; // no end-of-archive marker: accepted, as GNU tar does
    }
    if (this.headers === 0 && !this.current) {
      throw new TarFormatError(
        `invalid tar archive: the input is not a tar stream (${this.offset + this.partialLen} bytes, less than one header)`,
      );
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
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TarFormatError(`invalid tar archive: the size field in the header of "${name}" is not a byte count`);
    }

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META)
        throw new TarFormatError(`invalid tar archive: a ${size}-byte extended header before "${name}" is too large`);
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
    const dataSize = wholeNumber(path, 'size', pax.size, size, MAX_SIZE);
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
        if (typeflag === 'S' || pax.sparse)
          throw new TarFormatError(`unsupported tar entry "${path}": sparse files are not supported`);
        // Old archives mark directories with a trailing slash only.
        if (typeflag === '\0' || typeflag === '0') type = 'file';
        else throw new TarFormatError(`unsupported tar entry "${path}": entry type '${typeflag}'`);
    }
    if (pax.sparse) throw new TarFormatError(`unsupported tar entry "${path}": sparse files are not supported`);
    if (type === 'file' && path.endsWith('/') && typeflag !== '7') type = 'dir';
    const xattrs = g.xattrs.size ? new Map([...g.xattrs, ...pax.xattrs]) : pax.xattrs;
    const mode = parseNumber(buf, off + 100, 8);
    if (Number.isNaN(mode)) throw badNumber(path, "the header's mode field", 'an octal number');
    // Device numbers matter (and are checked) only for devices: other entries may leave them blank.
    const device = type === 'char' || type === 'block';
    const dev = (key: string, paxValue: string | undefined, at: number) =>
      device || paxValue !== undefined ? wholeNumber(path, key, paxValue, parseNumber(buf, at, 8), MAX_DEV) : 0;
    const entry: TarEntry = {
      path,
      type,
      mode: mode & 0o7777,
      uid: wholeNumber(path, 'uid', pax.uid ?? g.uid, parseNumber(buf, off + 108, 8), MAX_ID),
      gid: wholeNumber(path, 'gid', pax.gid ?? g.gid, parseNumber(buf, off + 116, 8), MAX_ID),
      size: type === 'file' ? dataSize : 0,
      mtime: timeOf(path, 'mtime', pax.mtime ?? g.mtime, parseNumber(buf, off + 136, 12))!,
      atime: timeOf(path, 'atime', pax.atime ?? g.atime),
      linkpath,
      devmajor: dev('devmajor', pax.devmajor, off + 329),
      devminor: dev('devminor', pax.devminor, off + 337),
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
