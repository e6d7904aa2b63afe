// A build step's layer is made without a stream: its tar's pieces go straight into the store's
// unpacker. The stored layer must be exactly the tar a stream would carry (same diff_id, files and
// tar-split record, kept file contents or not), and a step whose source vanished mid-way must
// leave no work directory behind. A finished RUN step's files become the layer's by a link, with
// only what the tar says about them; a container that lives on (box commit) gets copies.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyEntries, entriesDigest } from '../../src/build/copy';
import { LayerEntry, storeContainerChanges, storeEntries, writeLayerTar } from '../../src/build/layer-tar';
import { ImageStore } from '../../src/image/store';
import { layerTar } from '../../src/image/tar-split';
import { llistxattr, lsetxattr } from '../../src/linux/syscalls';
import { layout } from '../../src/paths';
import { LayerStack } from '../../src/runtime/diff';

let base: string;
let n = 0;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'box-layer-tar-'));
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }), 60_000);

/** A source tree of every kind of entry a COPY takes, and a fresh store. */
function setup(): { src: string; store: ImageStore } {
  const dir = path.join(base, `t${n++}`);
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'dir/small'), 'hello\n');
  fs.writeFileSync(path.join(src, 'dir/big'), Buffer.alloc(2 * 1024 * 1024 + 17, 7)); // read in pieces, odd size
  fs.writeFileSync(path.join(src, 'empty'), '');
  fs.writeFileSync(path.join(src, 'block'), Buffer.alloc(512, 1)); // no padding after it
  fs.linkSync(path.join(src, 'dir/small'), path.join(src, 'hard'));
  fs.symlinkSync('dir/small', path.join(src, 'link'));
  fs.writeFileSync(path.join(src, 'dir/sub/' + 'n'.repeat(150)), 'a long name');
  fs.chmodSync(path.join(src, 'dir/small'), 0o751);
  const root = path.join(dir, 'root');
  return { src, store: new ImageStore({ root, runroot: path.join(root, 'run') }) };
}

function entriesOf(src: string): { entries: LayerEntry[]; close: () => void } {
  const stack = new LayerStack([src]);
  const image = new LayerStack([]);
  const entries = copyEntries({ stack, what: 'the test tree' }, image, { sources: ['/'], dest: '/app/', workdir: '/' });
  return {
    entries,
    close: () => {
      stack.close();
      image.close();
    },
  };
}

/** The sha256 and bytes of the tar writeLayerTar streams for the entries. */
async function streamed(entries: LayerEntry[]): Promise<{ diffId: string; tar: Buffer }> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk));
      done();
    },
  });
  await writeLayerTar(entries, sink);
  const tar = Buffer.concat(parts);
  return { diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`, tar };
}

async function reassembled(store: ImageStore, diffId: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of layerTar(store.layerDir(diffId), diffId, 'test layer')) out.push(c);
  return Buffer.concat(out);
}

describe('storeEntries', () => {
  for (const kept of [false, true]) {
    it(`stores the tar a stream would carry, byte for byte (${kept ? 'contents kept by the key pass' : 'files read'})`, async () => {
      const { src, store } = setup();
      const { entries, close } = entriesOf(src);
      try {
        if (kept) entriesDigest(entries); // keeps small files' contents on their entries
        expect(entries.some((e) => e.kind === 'copy' && e.content !== undefined)).toBe(kept);
        const want = await streamed(entries);
        const diffId = await storeEntries(store, entries, 'COPY');
        expect(diffId).toBe(want.diffId);
        expect((await reassembled(store, diffId)).equals(want.tar)).toBe(true);
        const diff = store.layerDiff(diffId);
        expect(fs.readFileSync(path.join(diff, 'app/dir/small'), 'utf8')).toBe('hello\n');
        expect(fs.statSync(path.join(diff, 'app/dir/small')).mode & 0o7777).toBe(0o751);
        expect(fs.readFileSync(path.join(diff, 'app/dir/big')).equals(Buffer.alloc(2 * 1024 * 1024 + 17, 7))).toBe(
          true,
        );
        expect(fs.statSync(path.join(diff, 'app/hard')).ino).toBe(fs.statSync(path.join(diff, 'app/dir/small')).ino);
        expect(fs.readlinkSync(path.join(diff, 'app/link'))).toBe('dir/small');
        expect(fs.readFileSync(path.join(diff, 'app/dir/sub', 'n'.repeat(150)), 'utf8')).toBe('a long name');
        // hashed first, the same layer is found in the store and reused
        expect(await storeEntries(store, entries, 'COPY', { hashFirst: true })).toBe(diffId);
      } finally {
        close();
      }
    });
  }

  it('fails naming the step when a source vanished after it was listed, and leaves no work directory', async () => {
    const { src, store } = setup();
    const { entries, close } = entriesOf(src);
    try {
      fs.rmSync(path.join(src, 'dir/big'));
      await expect(storeEntries(store, entries, 'Dockerfile:3: COPY')).rejects.toThrow(/^Dockerfile:3: COPY: .*big/);
      expect(fs.readdirSync(layout.layers(store.roots)).filter((d) => d.startsWith('.tmp-'))).toEqual([]);
    } finally {
      close();
    }
  });
});

describe('storeContainerChanges', () => {
  /** An upper directory as a step leaves it: new files, one carrying overlay's and its own attributes. */
  function upperDir(): { upper: string; store: ImageStore } {
    const { store } = setup();
    const upper = path.join(path.dirname(store.roots.root), 'upper');
    fs.mkdirSync(path.join(upper, 'app'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'app/new'), 'made by the step\n', { mode: 0o640 });
    fs.writeFileSync(path.join(upper, 'app/empty'), '');
    lsetxattr(path.join(upper, 'app/new'), 'trusted.overlay.origin', Buffer.from('x'));
    lsetxattr(path.join(upper, 'app/new'), 'user.step', Buffer.from('y'));
    fs.linkSync(path.join(upper, 'app/new'), path.join(upper, 'app/same'));
    return { upper, store };
  }

  for (const discarded of [true, false]) {
    it(`${discarded ? 'links a finished step' : 'copies a living container'}'s files into the layer, as its tar says`, async () => {
      const { upper, store } = upperDir();
      const before = fs.statSync(path.join(upper, 'app/new'));
      const diffId = await storeContainerChanges(store, upper, [], [], 'RUN', discarded);
      const diff = store.layerDiff(diffId);
      const made = fs.statSync(path.join(diff, 'app/new'));
      expect(made.ino === before.ino).toBe(discarded);
      expect(fs.readFileSync(path.join(diff, 'app/new'), 'utf8')).toBe('made by the step\n');
      expect(made.mode & 0o7777).toBe(0o640);
      expect(made.mtimeMs).toBe(Math.floor(before.mtimeMs / 1000) * 1000); // the tar's whole seconds
      expect(llistxattr(path.join(diff, 'app/new'))).toEqual([]); // the tar carries no attributes
      expect(fs.statSync(path.join(diff, 'app/same')).ino).toBe(made.ino);
      expect(fs.readFileSync(path.join(diff, 'app/empty'), 'utf8')).toBe('');
      const tar = await reassembled(store, diffId); // checks the diff_id as it goes
      expect(tar.includes(Buffer.from('made by the step\n'))).toBe(true);
      // what the container sees of its own files is untouched, except where the layer shares them
      expect(fs.readFileSync(path.join(upper, 'app/new'), 'utf8')).toBe('made by the step\n');
    });
  }
});
