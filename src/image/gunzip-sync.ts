// Streaming gunzip on the calling thread, piece by piece. Node's zlib streams hand every piece to
// libuv's threads and back, and its synchronous functions take a whole buffer (a layer may be
// gigabytes). A layer worker (layer-worker.ts) has a thread of its own to spend: this drives the
// native zlib handle the way Node's own synchronous functions do (its `_handle.writeSync` and
// `_writeState`, an internal interface of node:zlib), but keeps the stream open between pieces.
// supported() checks that interface; where it is missing, the worker uses the zlib stream.
// Node's handle also reads gzip members one after another, as the stream does.
//
// Without the CRC (`crc: false`), the gzip framing (header, trailer, members, zero padding, as
// zlib reads them) is read here and only the deflate data goes through zlib, raw: zlib then skips
// its CRC-32 pass over the output, 4% of a pull's CPU. Only for a layer whose compressed digest
// and diff_id are both checked, which catch all that the CRC would.
import * as zlib from 'node:zlib';

interface ZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    out: Buffer,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface ZlibInternals {
  _handle?: ZlibHandle;
  /** [avail_out, avail_in] after each write */
  _writeState?: Uint32Array;
}

const OUT_BYTES = 1 << 20;
const EMPTY = Buffer.alloc(0);

/** zlib's kind of error, as its stream reports it (box's messages name the code) */
function zlibError(message: string, code: 'Z_DATA_ERROR' | 'Z_BUF_ERROR'): Error {
  return Object.assign(new Error(message), { errno: zlib.constants[code], code });
}

/** The length of the gzip member header at the start of `b`; -1 while it is incomplete. */
function headerLength(b: Buffer): number {
  if ((b.length > 0 && b[0] !== 0x1f) || (b.length > 1 && b[1] !== 0x8b))
    throw zlibError('incorrect header check', 'Z_DATA_ERROR');
  if (b.length > 2 && b[2] !== 8) throw zlibError('unknown compression method', 'Z_DATA_ERROR');
  if (b.length < 10) return -1;
  const flags = b[3];
  if (flags & 0xe0) throw zlibError('unknown header flags set', 'Z_DATA_ERROR');
  let n = 10;
  if (flags & 4) {
    if (b.length < n + 2) return -1;
    n += 2 + b.readUInt16LE(n); // FEXTRA
  }
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue; // FNAME, FCOMMENT: zero-terminated
    const end = n < b.length ? b.indexOf(0, n) : -1;
    if (end < 0) return -1;
    n = end + 1;
  }
  if (flags & 2) n += 2; // FHCRC
  return b.length >= n ? n : -1;
}

/** Where the unchecked reader is in the gzip stream. */
type Frame = 'header' | 'deflate' | 'trailer' | 'after' | 'padding';

export class SyncGunzip {
  private readonly engine: zlib.Gunzip | zlib.InflateRaw;
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;
  /** reused for every piece: what emit() is given is gone once it returns */
  private readonly out = Buffer.allocUnsafeSlow(OUT_BYTES);
  private error?: Error;
  /** without the CRC: the framing is read here (see the top of the file) */
  private readonly framed: boolean;
  private frame: Frame = 'header';
  /** a header's or trailer's bytes gathered across pieces (a copy) */
  private gathered = EMPTY;
  /** output of the current member, checked against its trailer's length */
  private memberBytes = 0;

  /** Whether this Node's zlib has the interface SyncGunzip drives. */
  static supported(): boolean {
    const z = zlib.createGunzip() as unknown as ZlibInternals;
    const ok = typeof z._handle?.writeSync === 'function' && z._writeState instanceof Uint32Array;
    (z as unknown as zlib.Gunzip).close();
    return ok;
  }

  /** crc: false leaves out the CRC-32 check (see the top of the file) */
  constructor({ crc = true } = {}) {
    this.framed = !crc;
    this.engine = crc ? zlib.createGunzip() : zlib.createInflateRaw();
    const z = this.engine as unknown as ZlibInternals;
    this.handle = z._handle!;
    this.state = z._writeState!;
    // zlib's errors (corrupt or truncated data) arrive here, during writeSync.
    this.handle.onerror = (message, errno, code) => {
      this.error = Object.assign(new Error(message), { errno, code });
    };
  }

  /** Inflates the next piece; emit() gets the output as it comes (a reused buffer). */
  write(chunk: Buffer, emit: (out: Buffer) => void): void {
    if (this.framed) this.readFramed(chunk, emit);
    else this.run(chunk, zlib.constants.Z_NO_FLUSH, emit);
  }

  /** The input has ended: fails unless the gzip stream ended too. */
  end(emit: (out: Buffer) => void): void {
    if (!this.framed) this.run(EMPTY, zlib.constants.Z_FINISH, emit);
    else if (this.frame !== 'after' && this.frame !== 'padding')
      throw zlibError('unexpected end of file', 'Z_BUF_ERROR');
    this.close();
  }

  close(): void {
    this.engine.close();
  }

  /**
   * Inflates `chunk`; returns the input left after the end of the deflate data (which raw zlib
   * does not take), or undefined when zlib took all of it.
   */
  private run(chunk: Buffer, flush: number, emit: (out: Buffer) => void): Buffer | undefined {
    let inOff = 0;
    let inLen = chunk.length;
    for (;;) {
      this.handle.writeSync(flush, chunk, inOff, inLen, this.out, 0, OUT_BYTES);
      if (this.error) throw this.error;
      const availOut = this.state[0];
      const availIn = this.state[1];
      if (availOut < OUT_BYTES) {
        emit(this.out.subarray(0, OUT_BYTES - availOut));
        this.memberBytes += OUT_BYTES - availOut;
      }
      inOff += inLen - availIn;
      inLen = availIn;
      // Room left in the output: zlib took all it could of the input (all of it, unless the
      // deflate data ended).
      if (availOut !== 0) return availIn > 0 ? chunk.subarray(inOff) : undefined;
    }
  }

  /** `more` after what was gathered (a view of `more` when nothing was) */
  private gather(more: Buffer): Buffer {
    return this.gathered.length ? Buffer.concat([this.gathered, more]) : more;
  }

  /** The unchecked reader: gzip's framing here, the deflate data through raw zlib. */
  private readFramed(chunk: Buffer, emit: (out: Buffer) => void): void {
    let rest = chunk;
    while (rest.length) {
      switch (this.frame) {
        case 'header': {
          const b = this.gather(rest);
          const n = headerLength(b);
          if (n < 0) {
            this.gathered = Buffer.from(b); // `chunk` is the caller's until this returns
            return;
          }
          this.gathered = EMPTY;
          rest = b.subarray(n);
          this.frame = 'deflate';
          this.memberBytes = 0;
          break;
        }
        case 'deflate': {
          const left = this.run(rest, zlib.constants.Z_NO_FLUSH, emit);
          if (!left) return;
          rest = left;
          this.frame = 'trailer';
          break;
        }
        case 'trailer': {
          const b = this.gather(rest);
          if (b.length < 8) {
            this.gathered = Buffer.from(b);
            return;
          }
          this.gathered = EMPTY;
          // CRC-32 (not checked: see the top of the file), then the length modulo 2^32
          if (b.readUInt32LE(4) !== this.memberBytes % 2 ** 32)
            throw zlibError('incorrect length check', 'Z_DATA_ERROR');
          rest = b.subarray(8);
          this.frame = 'after';
          break;
        }
        case 'after':
          // As zlib: a zero byte starts padding to the end, anything else another member.
          if (rest[0] === 0) {
            this.frame = 'padding';
            return;
          }
          (this.engine as zlib.InflateRaw).reset(); // raw zlib, ready for the next member's data
          this.frame = 'header';
          break;
        case 'padding':
          return;
      }
    }
  }
}
