// Content-addressed blobs (manifests, configs, layer archives) under blobs/sha256/<hex>. A blob is
// verified while it is written: the bytes go to a unique temp file in the same directory while
// their sha256 is computed, and only a matching digest is renamed into place. A mismatch, a
// failed source or a crash leaves no blob (at most a .tmp- file that nothing reads and that
// cleanTemp() removes). Two writers of the same blob each write their own temp file and both
// renames succeed: the content is identical.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError, errnoCode } from '../errors';
import { mkdirp, tempNameFor } from '../util/fs';
import { readNoFollow } from '../util/safe-open';

export class DigestMismatchError extends BoxError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what = `blob ${expected}`,
  ) {
    super(`${what} failed verification: expected digest ${expected}, the content has ${actual}`);
  }
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Checks the form of a digest; box stores sha256 only. */
export function parseDigest(digest: string): string {
  if (DIGEST_RE.test(digest)) return digest.slice(7);
  if (/^sha(384|512):/.test(digest)) throw new BoxError(`digest ${digest}: box supports sha256 digests only`);
  throw new BoxError(`invalid digest "${digest}": expected sha256:<64 hex digits>`);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Hashes bytes as they come (update) and, at their end (check), fails unless the digest (and the
 * size, when given) match; a piece past the announced size fails at once.
 */
export class DigestCheck {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(
    readonly expected: string,
    readonly expectedSize?: number,
    private readonly what = `blob ${expected}`,
  ) {
    parseDigest(expected);
  }
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize)
      throw new BoxError(`${this.what} is larger than the ${this.expectedSize} bytes announced`);
    this.hash.update(chunk);
  }
  check(): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize)
      throw new BoxError(`${this.what} is truncated: got ${this.bytes} of ${this.expectedSize} bytes`);
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.expected) throw new DigestMismatchError(this.expected, actual, this.what);
  }
}

/**
 * A pass-through stream that hashes what flows through it and fails at the end unless the
 * digest (and the size, when given) match. Put it where the bytes enter: whatever consumes them
 * downstream sees an error instead of a clean end when the content is wrong.
 */
export class VerifyingStream extends Transform {
  private readonly digest: DigestCheck;
  constructor(expected: string, expectedSize?: number, what?: string) {
    super();
    this.digest = new DigestCheck(expected, expectedSize, what);
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.digest.update(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.digest.check();
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb();
  }
}

/** A blob written and flushed, not yet in the store (BlobStore.stage). */
export interface StagedBlob {
  digest: string;
  commit(): void;
  discard(): void;
}

export class BlobStore {
  constructor(readonly dir: string) {}

  path(digest: string): string {
    return path.join(this.dir, parseDigest(digest));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  read(digest: string): Buffer {
    return readNoFollow(this.path(digest));
  }

  /** Stores data; with `expected`, fails (storing nothing) unless data has that digest. */
  put(data: Buffer, expected?: string): string {
    const staged = this.stage(data, expected);
    staged.commit();
    return staged.digest;
  }

  /**
   * put() in two steps: the data is written and flushed to a work file now, and becomes the blob
   * when commit() is called (discard() removes the work file instead). A pull stages its manifest
   * and config while its last layer is flushed, and commits them once every layer is.
   */
  stage(data: Buffer, expected?: string): StagedBlob {
    const digest = sha256Digest(data);
    if (expected !== undefined) {
      parseDigest(expected);
      if (digest !== expected) throw new DigestMismatchError(expected, digest);
    }
    const file = this.path(digest);
    if (fs.existsSync(file)) return { digest, commit: () => undefined, discard: () => undefined };
    mkdirp(this.dir);
    const tmp = tempNameFor(file);
    const discard = () => fs.rmSync(tmp, { force: true });
    try {
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      discard();
      throw err;
    }
    const commit = () => {
      try {
        fs.renameSync(tmp, file);
      } catch (err) {
        discard();
        throw err;
      }
    };
    return { digest, commit, discard };
  }

  /**
   * Streams source into the blob `expected`, verifying digest (and size, when given) before the
   * blob becomes visible. Resolves to the blob's path.
   */
  async putStream(source: Readable, expected: string, size?: number): Promise<string> {
    const file = this.path(expected);
    if (fs.existsSync(file)) {
      source.resume();
      return file;
    }
    mkdirp(this.dir);
    const tmp = tempNameFor(file);
    try {
      // Created here, synchronously, so the cleanup below always finds it; the stream opens it
      // without O_CREAT, so an open still pending when a failure is cleaned up cannot re-create it.
      fs.closeSync(fs.openSync(tmp, 'wx', 0o600));
      await pipeline(source, new VerifyingStream(expected, size), fs.createWriteStream(tmp, { flags: 'r+' }));
      const fd = fs.openSync(tmp, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      return file;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  delete(digest: string): boolean {
    try {
      fs.unlinkSync(this.path(digest));
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every stored digest. */
  list(): string[] {
    try {
      return fs
        .readdirSync(this.dir)
        .filter((f) => /^[0-9a-f]{64}$/.test(f))
        .map((f) => `sha256:${f}`);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }
}
