// Streaming gunzip on the calling thread, piece by piece. Node's zlib streams hand every piece to
// libuv's threads and back, and its synchronous functions take a whole buffer (a layer may be
// gigabytes). A layer worker (layer-worker.ts) has a thread of its own to spend: this drives the
// native zlib handle the way Node's own synchronous functions do (its `_handle.writeSync` and
// `_writeState`, an internal interface of node:zlib), but keeps the stream open between pieces.
// supported() checks that interface; where it is missing, the worker uses the zlib stream.
// Node's handle also reads gzip members one after another, as the stream does.
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

export class SyncGunzip {
  private readonly engine = zlib.createGunzip();
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;
  /** reused for every piece: what emit() is given is gone once it returns */
  private readonly out = Buffer.allocUnsafeSlow(OUT_BYTES);
  private error?: Error;

  /** Whether this Node's zlib has the interface SyncGunzip drives. */
  static supported(): boolean {
    const z = zlib.createGunzip() as unknown as ZlibInternals;
    const ok = typeof z._handle?.writeSync === 'function' && z._writeState instanceof Uint32Array;
    (z as unknown as zlib.Gunzip).close();
    return ok;
  }

  constructor() {
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
    this.run(chunk, zlib.constants.Z_NO_FLUSH, emit);
  }

  /** The input has ended: fails unless the gzip stream ended too. */
  end(emit: (out: Buffer) => void): void {
    this.run(EMPTY, zlib.constants.Z_FINISH, emit);
    this.close();
  }

  close(): void {
    this.engine.close();
  }

  private run(chunk: Buffer, flush: number, emit: (out: Buffer) => void): void {
    let inOff = 0;
    let inLen = chunk.length;
    for (;;) {
      this.handle.writeSync(flush, chunk, inOff, inLen, this.out, 0, OUT_BYTES);
      if (this.error) throw this.error;
      const availOut = this.state[0];
      const availIn = this.state[1];
      if (availOut < OUT_BYTES) emit(this.out.subarray(0, OUT_BYTES - availOut));
      inOff += inLen - availIn;
      inLen = availIn;
      // Room left in the output: zlib took all it could of the input.
      if (availOut !== 0) return;
    }
  }
}
