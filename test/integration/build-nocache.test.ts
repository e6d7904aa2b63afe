// `box build --no-cache` of an unchanged COPY: the layer's tar is hashed first and the store's
// identical layer is reused, without unpacking 5,000 files only to delete them as a duplicate
// (which cost such a rebuild 12 s). strace shows whether a layer was unpacked.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot } from '../support/box';

describe('box build --no-cache', () => {
  const t = busyboxRoot();

  /** Builds under strace; returns the image id and whether a layer was unpacked in the store. */
  const tracedBuild = (dir: string) => {
    const log = path.join(t.dir, 'strace.log');
    const r = spawnSync(
      'strace',
      ['-f', '-e', 'trace=mkdir,mkdirat', '-o', log, BOX, ...t.args(['build', '-q', '--no-cache', dir])],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const unpacked = /mkdir(at)?\([^)]*\/layers\/\.tmp-unpack-/.test(fs.readFileSync(log, 'utf8'));
    return { id: r.stdout.trim(), unpacked };
  };

  it("reuses the store's identical COPY layer without unpacking it; a changed file is unpacked", () => {
    const dir = path.join(t.dir, 'ctx');
    for (let i = 0; i < 200; i++) {
      fs.mkdirSync(path.join(dir, 'files', String(i % 10)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'files', String(i % 10), `f${i}`), `file ${i}\n`);
    }
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY files/ /files/\n');
    const first = t.box(['build', '-q', dir]);
    expect(first.stderr).toBe('');
    const layers = () => JSON.parse(t.box(['image', 'inspect', first.stdout.trim()]).stdout)[0].RootFS.Layers;
    const again = tracedBuild(dir);
    expect(again.unpacked).toBe(false);
    expect(JSON.parse(t.box(['image', 'inspect', again.id]).stdout)[0].RootFS.Layers).toEqual(layers());
    fs.writeFileSync(path.join(dir, 'files/0/f0'), 'changed\n');
    expect(tracedBuild(dir).unpacked).toBe(true);
  });
});
