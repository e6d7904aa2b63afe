// SyncGunzip (the layer worker's gunzip on its own thread) gives the same bytes as zlib's stream
// for gzip members one after another, whatever the size of the pieces it is fed, and fails as the
// stream does on truncated or corrupt data, with zlib's codes (which box's messages name).
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { SyncGunzip } from '../../src/image/gunzip-sync';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Feeds `gz` in pieces of `piece` bytes; the digest and length of what came out. */
function inflate(gz: Buffer, piece: number): { digest: string; length: number } {
  const g = new SyncGunzip();
  const hash = createHash('sha256');
  let length = 0;
  const take = (out: Buffer) => {
    hash.update(out);
    length += out.length;
  };
  for (let i = 0; i < gz.length; i += piece) g.write(gz.subarray(i, i + piece), take);
  g.end(take);
  return { digest: hash.digest('hex'), length };
}

describe('SyncGunzip', () => {
  it('is supported by the Node box is built with', () => {
    expect(SyncGunzip.supported()).toBe(true);
  });

  // Incompressible bytes (stored blocks), then 5 MiB of one byte (output many times the input).
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(5 << 20, 7)]);
  const twoMembers = Buffer.concat([gzipSync(data.subarray(0, 4 << 20)), gzipSync(data.subarray(4 << 20))]);

  it.each([1, 999, 65536, 1 << 20, twoMembers.length])('inflates two members fed %i bytes at a time', (piece) => {
    if (piece === 1) {
      // byte by byte through the first 64 KiB only: the loop per piece is what is tested
      const small = gzipSync(data.subarray(0, 65536));
      expect(inflate(small, 1)).toEqual({ digest: sha(data.subarray(0, 65536)), length: 65536 });
      return;
    }
    expect(inflate(twoMembers, piece)).toEqual({ digest: sha(data), length: data.length });
  });

  it('gives what zlib gives for zeros after the last member (padding)', () => {
    const padded = Buffer.concat([gzipSync(Buffer.from('abc')), Buffer.alloc(512)]);
    expect(gunzipSync(padded).toString()).toBe('abc');
    expect(inflate(padded, 100).length).toBe(3);
  });

  it('fails on truncated data (Z_BUF_ERROR) and on corrupt data (Z_DATA_ERROR)', () => {
    const gz = gzipSync(data.subarray(0, 1 << 20));
    expect(() => inflate(gz.subarray(0, gz.length - 100), 65536)).toThrow(
      expect.objectContaining({ code: 'Z_BUF_ERROR', message: 'unexpected end of file' }),
    );
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 6] ^= 0xff; // the CRC in the trailer
    expect(() => inflate(corrupt, 65536)).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
    const notGzip = Buffer.concat([gz, Buffer.from('trailing garbage')]);
    expect(() => inflate(notGzip, 65536)).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
  });
});
