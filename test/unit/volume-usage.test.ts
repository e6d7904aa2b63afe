// The volume store's accounting for `system df` and `system prune --volumes` (src/volume/usage.ts),
// uses left by killed creations dropped when the store is idle, and the mount facts filters read
// (src/volume/inspect.ts), on a real store in a temporary root.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryLockFile } from '../../src/image/locks';
import { lockPaths } from '../../src/paths';
import { mountFacts } from '../../src/volume/inspect';
import { VolumeStore } from '../../src/volume/store';
import { pruneVolumesForSystem, volumeUsage, volumeUsageDetail } from '../../src/volume/usage';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'box-volume-usage-'));
const roots = { root: path.join(dir, 'root'), runroot: path.join(dir, 'run') };
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('volume usage', () => {
  it('counts volumes, those in use and what prune frees; prune takes unused anonymous ones only', async () => {
    const store = new VolumeStore(roots);
    store.create('used');
    store.create('idle');
    store.create('a'.repeat(64), { anonymous: true });
    fs.writeFileSync(path.join(store.dataDir('used'), 'f'), 'x'.repeat(100));
    fs.writeFileSync(path.join(store.dataDir('a'.repeat(64)), 'f'), 'y'.repeat(10));
    const id = 'c'.repeat(64);
    fs.mkdirSync(path.join(roots.root, 'containers', id), { recursive: true }); // a container that exists
    store.addUse('used', id);
    expect(volumeUsage(roots)).toEqual({ type: 'Local Volumes', total: 3, active: 1, size: 110, reclaimable: 10 });
    expect(volumeUsageDetail(roots).rows).toEqual([
      ['a'.repeat(64), '0', '10B'],
      ['idle', '0', '0B'],
      ['used', '1', '100B'],
    ]);
    expect(await pruneVolumesForSystem(roots)).toEqual({
      heading: 'Deleted Volumes',
      lines: ['a'.repeat(64)],
      bytes: 10,
    });
    expect(store.names().sort()).toEqual(['idle', 'used']);
  });

  it('drops a use by a container with no record (a killed creation’s), unless a creation may be at work', () => {
    const store = new VolumeStore(roots);
    store.create('orphan');
    store.addUse('orphan', 'd'.repeat(64));
    // the store's lock held (shared by a creation between its use and its record): the use stays
    const creation = tryLockFile(lockPaths.store(roots))!;
    expect(volumeUsageDetail(roots).rows).toContainEqual(['orphan', '1', '0B']);
    creation.release();
    expect(volumeUsageDetail(roots).rows).toContainEqual(['orphan', '0', '0B']);
    expect(store.users('orphan')).toEqual([]);
    store.remove('orphan');
  });

  it('gives filters a volume’s name, else the source', () => {
    expect(
      mountFacts([
        { type: 'volume', source: 'db', target: '/db', readOnly: false, origin: 'v' },
        { type: 'bind', source: '/srv', target: '/s', readOnly: true, origin: 'mount' },
      ]),
    ).toEqual([
      { name: 'db', source: 'db', destination: '/db' },
      { source: '/srv', destination: '/s' },
    ]);
  });
});
