// A layer's tar stream reassembled from its unpacked directory and tar-split record is the same
// bytes (so the same diff_id) for archives GNU tar wrote and for odd hand-made ones; a layer whose
// files changed, or whose record is missing, is refused rather than given out wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { llistxattr } from '../../src/linux/syscalls';
import { layerTar, TAR_SPLIT_FILE } from '../../src/image/tar-split';
import { unpackLayer } from '../../src/image/unpack';
import { makeTar } from '../support/tar';

let base: string;
let n = 0;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'box-tarsplit-'));
});
// Removing the layers' few thousand files takes seconds when the disk is busy: more than the default hook time.
afterAll(() => fs.rmSync(base, { recursive: true, force: true }), 60_000);

/** Unpacks tar (in pieces of `chunk` bytes) as a layer directory: <layer>/diff and <layer>/tar-split.gz. */
async function store(tar: Buffer, chunk = 7919): Promise<{ layer: string; diffId: string }> {
  const layer = path.join(base, `layer-${n++}`);
  fs.mkdirSync(path.join(layer, 'diff'), { recursive: true });
  const parts: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) parts.push(tar.subarray(i, i + chunk));
  const r = await unpackLayer(Readable.from(parts), path.join(layer, 'diff'), {
    tarSplit: path.join(layer, TAR_SPLIT_FILE),
  });
  return { layer, diffId: r.diffId };
}

async function reassemble(layer: string, diffId: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of layerTar(layer, diffId, 'test layer')) out.push(c);
  return Buffer.concat(out);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('tar-split', () => {
  it('gives back the exact bytes of a GNU tar archive with every kind of entry', async () => {
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'dir/small'), 'hello\n');
    fs.writeFileSync(path.join(src, 'dir/big'), Buffer.alloc(3 * 1024 * 1024 + 17, 7)); // several records, odd size
    fs.writeFileSync(path.join(src, 'empty'), '');
    fs.linkSync(path.join(src, 'dir/small'), path.join(src, 'hard'));
    fs.symlinkSync('dir/small', path.join(src, 'link'));
    fs.writeFileSync(path.join(src, 'dir/sub/' + 'n'.repeat(150)), 'a long name');
    fs.writeFileSync(path.join(src, '.wh.gone'), '');
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    // Enough entries for several megabytes of headers: the record spans several gzip members.
    fs.mkdirSync(path.join(src, 'many'));
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(src, 'many', `f${i}`), `${i}`);
    const file = path.join(base, 'gnu.tar');
    for (const format of ['gnu', 'posix']) {
      const r = spawnSync('tar', [`--format=${format}`, '-C', src, '-cf', file, '.'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const tar = fs.readFileSync(file);
      const { layer, diffId } = await store(tar);
      expect(diffId).toBe(sha(tar));
      expect(fs.statSync(path.join(layer, TAR_SPLIT_FILE)).size).toBeLessThan(tar.length / 10);
      const again = await reassemble(layer, diffId);
      expect(again.length).toBe(tar.length);
      expect(again.equals(tar)).toBe(true);
    }
  }, 60_000); // GNU tar writes a few thousand files: slow on a busy disk

  it('keeps data that is not in the layer directory (whiteout markers with content, data after the end marker)', async () => {
    const tar = Buffer.concat([
      makeTar([
        { path: 'a/', type: 'dir' },
        { path: 'a/file', data: 'x'.repeat(1000) },
        { path: 'a/.wh.old', data: 'odd but allowed' },
        { path: 'a/hl', type: 'hardlink', linkpath: 'a/file' },
      ]),
      Buffer.alloc(10240 - 512 * 7),
    ]);
    const { layer, diffId } = await store(tar, 100);
    expect((await reassemble(layer, diffId)).equals(tar)).toBe(true);
  });

  it('gives back overlay attributes the unpacker dropped: they are in the record, not on disk', async () => {
    const tar = makeTar([
      {
        path: 'd/',
        type: 'dir',
        pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/e', 'SCHILY.xattr.user.overlay.opaque': 'y' },
      },
      { path: 'd/f', data: 'content', pax: { 'SCHILY.xattr.trusted.overlay.metacopy': '' } },
    ]);
    const { layer, diffId } = await store(tar, 300);
    expect(llistxattr(path.join(layer, 'diff/d'))).toEqual([]);
    expect((await reassemble(layer, diffId)).equals(tar)).toBe(true);
  });

  it('refuses a layer whose file changed, and one without a record', async () => {
    const tar = makeTar([{ path: 'f', data: 'original' }]);
    const { layer, diffId } = await store(tar);
    fs.writeFileSync(path.join(layer, 'diff/f'), 'changed!');
    await expect(reassemble(layer, diffId)).rejects.toThrow(/reassembled layer has digest .*, not its diff_id/);
    fs.writeFileSync(path.join(layer, 'diff/f'), 'longer than before');
    await expect(reassemble(layer, diffId)).rejects.toThrow(/not the file its tar entry describes/);
    fs.rmSync(path.join(layer, 'diff/f'));
    fs.symlinkSync('/etc/passwd', path.join(layer, 'diff/f'));
    await expect(reassemble(layer, diffId)).rejects.toThrow(/cannot read "f"/);
    fs.rmSync(path.join(layer, TAR_SPLIT_FILE));
    await expect(reassemble(layer, diffId)).rejects.toThrow(/without its tar metadata/);
  });

  it('a file replaced by a later entry of the same layer makes it not reproducible', async () => {
    const tar = makeTar([
      { path: 'f', data: 'first version' },
      { path: 'f', data: 'second' },
    ]);
    const { layer, diffId } = await store(tar);
    await expect(reassemble(layer, diffId)).rejects.toThrow(/not the file its tar entry describes/);
  });
});
