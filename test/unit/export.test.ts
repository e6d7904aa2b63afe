// box export of a running container races with the container: between the look at a file and its
// open, the container can put a FIFO (whose open would wait forever) or a device node in its
// place. The export checks what it opened and stops with an error instead.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exportLayers } from '../../src/image/export';
import { O_PATH } from '../../src/linux/syscalls';
import { LayerStack } from '../../src/runtime/diff';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const realOpen = LayerStack.prototype.open;
afterEach(() => {
  LayerStack.prototype.open = realOpen;
});

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

describe.skipIf(process.getuid?.() !== 0)('exportLayers against a file swapped while it is exported', () => {
  it.each([
    ['a FIFO nobody writes to', ['p']],
    ['a device node', ['c', '1', '3']],
  ])('%s in place of a regular file stops the export with an error', async (_what, mknod) => {
    const layer = fs.mkdtempSync(path.join(dir, 'layer-'));
    fs.writeFileSync(path.join(layer, 'f'), 'regular');
    const swapped = path.join(dir, `swap-${path.basename(layer)}`);
    expect(spawnSync('mknod', [swapped, ...mknod]).status).toBe(0);
    // The window of the race made certain: the swap happens after the look (an O_PATH open), before
    // the open for reading.
    LayerStack.prototype.open = function (this: LayerStack, i: number, rel: string, flags: number) {
      if (rel === 'f' && (flags & O_PATH) === 0) fs.renameSync(swapped, path.join(layer, 'f'));
      return realOpen.call(this, i, rel, flags);
    };
    const started = Date.now();
    await expect(exportLayers([layer], sink())).rejects.toThrow(
      'export: f changed while being exported: try again, or stop the container first',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('exports a regular file', async () => {
    const layer = fs.mkdtempSync(path.join(dir, 'layer-'));
    fs.writeFileSync(path.join(layer, 'f'), 'regular');
    expect(await exportLayers([layer], sink())).toBe(1);
  });
});
