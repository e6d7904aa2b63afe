// box cp from a running container races with the container: between the look at a file and its
// open, the container can put a FIFO or a device node in its place. The copy checks what it
// opened: such a swap is refused (box, outside the container's device rules, would otherwise read
// a host disk or /dev/zero, or wait forever on the FIFO), and nothing is written.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPath, RootTree, Tree } from '../../src/runtime/copy';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-copy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The host tree, with the window of the race made certain: `swap` runs (renames something over
 * the source) after copyPath has looked at the source and before the source is opened.
 */
function racingTree(swap: () => void): Tree {
  const host = RootTree.host();
  return Object.assign(Object.create(host) as Tree, {
    openRead(p: string) {
      swap();
      return host.openRead(p);
    },
  });
}

const opts = { archive: false, followLink: false, owner: { uid: 0, gid: 0 }, warn: () => {} };

describe.skipIf(process.getuid?.() !== 0)('copyPath against a source swapped while it is copied', () => {
  it.each([
    ['a FIFO nobody writes to', ['p']],
    ['a device node (/dev/null here; a disk or /dev/zero in an attack)', ['c', '1', '3']],
  ])('%s in place of a regular file is refused and nothing is written', (_what, mknod) => {
    const src = path.join(dir, `file-${mknod[0]}`);
    fs.writeFileSync(src, 'regular');
    const swapped = `${src}.swap`;
    expect(spawnSync('mknod', [swapped, ...mknod]).status).toBe(0);
    const out = path.join(dir, `out-${mknod[0]}`);
    const host = RootTree.host();
    const started = Date.now();
    try {
      const racing = racingTree(() => fs.renameSync(swapped, src));
      expect(() => copyPath(racing, src, host, out, opts, { src, dst: out })).toThrow(
        `cannot copy ${src}: it changed while being copied (no longer a regular file)`,
      );
    } finally {
      host.close();
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a regular file is copied as it was when opened', () => {
    const src = path.join(dir, 'plain');
    fs.writeFileSync(src, 'x'.repeat(100_000));
    const out = path.join(dir, 'plain-out');
    const host = RootTree.host();
    try {
      expect(copyPath(host, src, host, out, opts, { src, dst: out })).toBe(100_000);
    } finally {
      host.close();
    }
    expect(fs.readFileSync(out, 'utf8')).toBe('x'.repeat(100_000));
  });
});
