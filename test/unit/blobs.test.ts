// The blob store: verified writes, nothing left behind by a mismatch or a failed source, and
// concurrent writers of one blob.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BlobStore, DigestMismatchError, sha256Digest } from '../../src/image/blobs';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-blobs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('BlobStore', () => {
  it('stores by digest and reads back', () => {
    const s = new BlobStore(path.join(dir, 'a'));
    const d = s.put(Buffer.from('hello'));
    expect(d).toBe(sha256Digest('hello'));
    expect(s.read(d).toString()).toBe('hello');
    expect(s.has(d)).toBe(true);
    expect(s.list()).toEqual([d]);
    expect(s.put(Buffer.from('hello'), d)).toBe(d);
  });

  it('a mismatching write is an error and leaves nothing', async () => {
    const s = new BlobStore(path.join(dir, 'b'));
    const wrong = sha256Digest('something else');
    expect(() => s.put(Buffer.from('hello'), wrong)).toThrow(DigestMismatchError);
    await expect(s.putStream(Readable.from([Buffer.from('hel'), Buffer.from('lo')]), wrong)).rejects.toThrow(
      /failed verification/,
    );
    await expect(s.putStream(Readable.from([Buffer.from('hello')]), sha256Digest('hello'), 99)).rejects.toThrow(
      /truncated: got 5 of 99 bytes/,
    );
    await expect(s.putStream(Readable.from([Buffer.from('hello')]), sha256Digest('hello'), 3)).rejects.toThrow(
      /larger than the 3 bytes/,
    );
    const failing = new PassThrough();
    const p = s.putStream(failing, sha256Digest('hello'));
    failing.write('he');
    failing.destroy(new Error('connection reset'));
    await expect(p).rejects.toThrow(/connection reset/);
    expect(fs.existsSync(s.dir) ? fs.readdirSync(s.dir) : []).toEqual([]);
    expect(() => s.put(Buffer.from('x'), 'sha512:abc')).toThrow(/sha256 digests only/);
    expect(() => s.put(Buffer.from('x'), 'md5:abc')).toThrow(/invalid digest/);
  });

  it('streams a verified blob into place', async () => {
    const s = new BlobStore(path.join(dir, 'c'));
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const file = await s.putStream(
      Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
      sha256Digest(data),
      data.length,
    );
    expect(fs.readFileSync(file).equals(data)).toBe(true);
    expect(fs.readdirSync(s.dir)).toEqual([path.basename(file)]);
  });

  it('concurrent writers of the same blob both succeed', async () => {
    const s = new BlobStore(path.join(dir, 'd'));
    const data = Buffer.alloc(1024 * 1024, 3);
    const digest = sha256Digest(data);
    // Both writers are in flight at once: each has its temp file before either renames.
    const a = new PassThrough();
    const b = new PassThrough();
    const pa = s.putStream(a, digest, data.length);
    const pb = s.putStream(b, digest, data.length);
    a.write(data.subarray(0, 500_000));
    b.write(data.subarray(0, 700_000));
    a.end(data.subarray(500_000));
    b.end(data.subarray(700_000));
    const [fa, fb] = await Promise.all([pa, pb]);
    expect(fa).toBe(fb);
    expect(fs.readFileSync(fa).equals(data)).toBe(true);
    expect(fs.readdirSync(s.dir)).toEqual([digest.slice(7)]);
  });
});
