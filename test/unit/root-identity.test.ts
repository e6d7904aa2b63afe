// A box process whose storage root is removed or replaced while it runs makes no host-global
// object for it again (src/util/root-identity.ts): no bridge, no nftables table, no directories.
// Against the real kernel, in this process (one process, as a box stopped while its root went).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { syncRuleset } from '../../src/network/setup';
import { NetworkStore } from '../../src/network/store';
import { Roots } from '../../src/paths';
import { trustRoots } from '../../src/util/safe-open';
import { hasNftTable, removeRootNetworkObjects, rootBridges } from '../support/network';

let roots: Roots;
let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-identity-'));
  roots = { root: path.join(tmp, 'root'), runroot: path.join(tmp, 'root', 'run') };
});
afterEach(() => {
  removeRootNetworkObjects(roots.root, roots.runroot);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The root removed as a test's cleanup does: its bridges and table first, then its files. */
function removeRoot(): void {
  removeRootNetworkObjects(roots.root, roots.runroot);
  fs.rmSync(roots.root, { recursive: true, force: true });
}

it('a root removed while box runs: no network, bridge, table or directory is made for it again', async () => {
  fs.mkdirSync(roots.root, { mode: 0o700 });
  trustRoots(roots); // as every command does first: the root's identity is noted
  const store = new NetworkStore(roots);
  await store.create({ name: 'before' });
  expect(rootBridges(roots.root)).toHaveLength(2); // the default network's and this one's
  removeRoot();
  const removed = `the storage root ${roots.root} was removed while box ran`;
  await expect(store.create({ name: 'after' })).rejects.toThrow(`${removed}: network after (its bridge) not made`);
  await expect(new NetworkStore(roots).list()).rejects.toThrow(`${removed}: the default network (its bridge)`);
  await expect(syncRuleset(roots, store)).rejects.toThrow(`${removed}: its nftables table not made for it`);
  expect(rootBridges(roots.root)).toEqual([]);
  expect(hasNftTable(roots.root)).toBe(false);
  expect(fs.existsSync(roots.root)).toBe(false);
});

it('a root replaced (same path, another directory) while box runs: nothing is made for the new one', async () => {
  const other = { root: path.join(tmp, 'other'), runroot: path.join(tmp, 'other', 'run') };
  fs.mkdirSync(roots.root, { mode: 0o700 });
  trustRoots(roots);
  removeRoot();
  fs.mkdirSync(roots.root, { mode: 0o700 });
  const replaced = `the storage root ${roots.root} was replaced while box ran`;
  await expect(new NetworkStore(roots).create({ name: 'n' })).rejects.toThrow(replaced);
  expect(rootBridges(roots.root)).toEqual([]);
  // a root that did not exist when the process first looked is the one it makes: allowed
  trustRoots(other);
  try {
    await new NetworkStore(other).create({ name: 'n' });
    expect(rootBridges(other.root)).toHaveLength(2);
  } finally {
    removeRootNetworkObjects(other.root, other.runroot);
  }
});

it('box internal restart|exited of a root that is gone refuses at once and makes nothing', () => {
  const box = path.resolve(__dirname, '..', '..', 'dist', 'box');
  const id = 'a'.repeat(64);
  for (const event of ['restart', 'exited']) {
    const r = spawnSync(box, ['--root', roots.root, 'internal', event, id], { encoding: 'utf8' });
    expect(r.stderr).toBe(`box: the storage root ${roots.root} is gone: nothing to do\n`);
    expect(r.status).toBe(125);
  }
  expect(fs.existsSync(roots.root)).toBe(false);
  expect(rootBridges(roots.root)).toEqual([]);
});
