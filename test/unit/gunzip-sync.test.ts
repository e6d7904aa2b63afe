// SyncGunzip (the layer worker's gunzip on its own thread) gives the same bytes as zlib's stream
// for gzip members one after another, whatever the size of the pieces it is fed, and fails as the
// stream does on truncated or corrupt data, with zlib's codes (which box's messages name); without
// the CRC (crc: false, its own reading of gzip's framing) too.
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { SyncGunzip } from '../../src/image/gunzip-sync';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Feeds `gz` in pieces of `piece` bytes; the digest and length of what came out. */
function inflate(gz: Buffer, piece: number, crc = true): { digest: string; length: number } {
  const g = new SyncGunzip({ crc });
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

  describe('without the CRC (its own reading of the framing, zlib raw)', () => {
    it.each([1, 7, 999, 65536, 1 << 20, twoMembers.length])('inflates two members fed %i bytes at a time', (piece) => {
      // byte by byte: every header and trailer is gathered across pieces
      const gz =
        piece < 1000
          ? Buffer.concat([gzipSync(data.subarray(0, 5000)), gzipSync(data.subarray(5000, 9000))])
          : twoMembers;
      const want = piece < 1000 ? data.subarray(0, 9000) : data;
      expect(inflate(gz, piece, false)).toEqual({ digest: sha(want), length: want.length });
    });

    it('reads a header with every optional field (extra, name, comment, header CRC) as zlib does', () => {
      const gz = gzipSync(data.subarray(0, 70000));
      const head = Buffer.concat([
        Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 1, 2, 3, 4, 0, 3]),
        Buffer.from([5, 0]),
        Buffer.from('extra'),
        Buffer.from('name\0comment\0'),
      ]);
      const hcrc = Buffer.alloc(2);
      hcrc.writeUInt16LE(crc32(head) & 0xffff);
      const full = Buffer.concat([head, hcrc, gz.subarray(10)]);
      expect(sha(gunzipSync(full))).toBe(sha(data.subarray(0, 70000)));
      for (const piece of [1, 3, 100, full.length])
        expect(inflate(full, piece, false)).toEqual({ digest: sha(data.subarray(0, 70000)), length: 70000 });
    });

    it('takes zeros after the last member as padding, as zlib does', () => {
      const padded = Buffer.concat([gzipSync(Buffer.from('abc')), Buffer.alloc(512)]);
      expect(inflate(padded, 100, false).length).toBe(3);
    });

    it('fails as zlib does on data cut in the header, the deflate data or the trailer, on corrupt data and on garbage', () => {
      const gz = gzipSync(data.subarray(0, 1 << 20));
      const eof = expect.objectContaining({ code: 'Z_BUF_ERROR', message: 'unexpected end of file' });
      for (const cut of [0, 5, 100, gz.length - 4])
        expect(() => inflate(gz.subarray(0, cut), 65536, false)).toThrow(eof);
      const corrupt = Buffer.from(gz);
      corrupt[10] ^= 0xff; // the first block's header: a reserved block type
      expect(() => inflate(corrupt, 65536, false)).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
      const badLength = Buffer.from(gz);
      badLength[badLength.length - 1] ^= 0xff; // the trailer's length
      expect(() => inflate(badLength, 65536, false)).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
      const notGzip = Buffer.concat([gz, Buffer.from('trailing garbage')]);
      expect(() => inflate(notGzip, 65536, false)).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
      // What it leaves to the digests: a wrong CRC alone passes here (the checked reader refuses it).
      const badCrc = Buffer.from(gz);
      badCrc[badCrc.length - 6] ^= 0xff;
      expect(inflate(badCrc, 65536, false).length).toBe(1 << 20);
    });
  });
});
