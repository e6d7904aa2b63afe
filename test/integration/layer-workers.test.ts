// Layer worker threads (src/image/layer-workers.ts, layer-worker.ts) fed a layer's pieces
// directly, as the download hands them over: the layer must arrive whole whatever the pieces'
// sizes, also when the first ones are too short to tell the compression and are held until more come.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { storeLayer } from '../../src/image/layer-fetch';
import { LayerWorkers } from '../../src/image/layer-workers';
import { ImageStore } from '../../src/image/store';
import { TestRoot } from '../support/box';

const dir = new TestRoot('box-layer-workers-');
afterAll(() => dir.cleanup());

const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** pieces of `data`: the sizes given first, then the rest in pieces of `rest` bytes */
function pieces(data: Buffer, first: number[], rest: number): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const n of first) out.push(data.subarray(off, (off += n)));
  while (off < data.length) out.push(data.subarray(off, (off += rest)));
  return out;
}

describe('layer worker threads', () => {
  it('unpack a gzip layer handed over in pieces of 1, 2 and 1 bytes, then 64 KiB (the first ones held)', async () => {
    const src = path.join(dir.dir, 'src');
    fs.mkdirSync(src, { recursive: true });
    const files = Array.from({ length: 8 }, (_, i) => crypto.randomBytes(100_000 + i * 7919));
    for (const [i, b] of files.entries()) fs.writeFileSync(path.join(src, `f${i}`), b);
    const tar = execFileSync('tar', ['-C', src, '--owner=0', '--group=0', '-cf', '-', '.']);
    const gz = zlib.gzipSync(tar);
    const store = new ImageStore({ root: dir.root, runroot: path.join(dir.dir, 'run') });
    const workers = LayerWorkers.start(1)!;
    try {
      const diffId = sha256(tar);
      await storeLayer(store, Readable.from(pieces(gz, [1, 2, 1], 65536)), {
        workers,
        compressedDigest: sha256(gz),
        compressedSize: gz.length,
        diffId,
        what: 'test layer',
      });
      const diff = path.join(dir.root, 'layers', diffId.slice(7), 'diff');
      for (const [i, b] of files.entries()) expect(fs.readFileSync(path.join(diff, `f${i}`)).equals(b)).toBe(true);
    } finally {
      await workers.close();
    }
  });
});
