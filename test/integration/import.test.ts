// `box import`: a root filesystem tarball, plain, gzip-compressed or on standard input, is the
// same one layer: its diffId is the digest of the uncompressed tar, whatever way it came in.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BOX, busyboxTarball, TestRoot } from '../support/box';

describe('box import', () => {
  const t = new TestRoot('box-import-');
  afterAll(() => t.cleanup());

  const layersOf = (name: string): string[] => {
    const r = t.box(['image', 'inspect', name]);
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { RootFS: { Layers: string[] } }[])[0].RootFS.Layers;
  };

  it('plain, .tar.gz and stdin give the same layer diffId: the digest of the uncompressed tar', () => {
    const tar = busyboxTarball(t.dir);
    const plain = fs.readFileSync(tar);
    const gz = `${tar}.gz`;
    fs.writeFileSync(gz, zlib.gzipSync(plain));
    expect(t.box(['import', tar, 'plain']).status).toBe(0);
    expect(t.box(['import', gz, 'gzipped']).status).toBe(0);
    const fromStdin = spawnSync(BOX, t.args(['import', '-', 'piped']), { input: plain, encoding: 'utf8' });
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.status).toBe(0);
    const gzStdin = spawnSync(BOX, t.args(['import', '-', 'piped-gz']), {
      input: fs.readFileSync(gz),
      encoding: 'utf8',
    });
    expect(gzStdin.status).toBe(0);
    const diffId = `sha256:${crypto.createHash('sha256').update(plain).digest('hex')}`;
    for (const name of ['plain', 'gzipped', 'piped', 'piped-gz'])
      expect({ name, layers: layersOf(name) }).toEqual({ name, layers: [diffId] });
  });

  it("flushes a layer's files to disk (syncfs) before the rename that commits the layer", () => {
    // A committed layer is never unpacked again: after a power loss it must not hold files whose
    // data never reached the disk. strace shows the order of the two calls.
    const log = `${t.dir}/strace.log`;
    const rootfs = fs.mkdtempSync(`${t.dir}/synced-`); // a layer no earlier test stored
    fs.writeFileSync(`${rootfs}/data`, crypto.randomBytes(4096));
    const tar = `${rootfs}.tar`;
    expect(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status).toBe(0);
    const r = spawnSync(
      'strace',
      ['-f', '-y', '-e', 'trace=syncfs,rename', '-o', log, BOX, ...t.args(['import', tar, 'synced'])],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const calls = fs.readFileSync(log, 'utf8').split('\n');
    const commit = calls.findIndex((l) =>
      /rename\("[^"]*\/layers\/\.tmp-[^"]*", "[^"]*\/layers\/[0-9a-f]{64}"\) = 0/.test(l),
    );
    const sync = calls.findIndex((l) => /syncfs\(\d+<[^>]*\/layers\/\.tmp-[^>]*\/diff>\) = 0/.test(l));
    expect(commit, calls.join('\n')).toBeGreaterThan(-1);
    expect(sync, calls.join('\n')).toBeGreaterThan(-1);
    expect(sync).toBeLessThan(commit);
    // The layer's size and link files are written before that one syncfs, which flushes them too
    // (they are not fsynced one by one).
    for (const file of ['size', 'link']) {
      const written = calls.findIndex((l) =>
        new RegExp(
          `rename\\("[^"]*/layers/\\.tmp-[^"/]*/\\.tmp-[^"]*", "[^"]*/layers/\\.tmp-[^"/]*/${file}"\\) = 0`,
        ).test(l),
      );
      expect(written, `${file}\n${calls.join('\n')}`).toBeGreaterThan(-1);
      expect(written, file).toBeLessThan(sync);
    }
  });
});
