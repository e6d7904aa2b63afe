// Images with many layers: 130 layers built here (a busybox layer at the bottom, 128 small ones,
// one on top), stored with the store's own API. Their overlay lower dirs are short links
// (<root>/l/<name>), so the mount options fit overlayfs's single page: the test mounts them with
// the kernel's overlayfs itself, and runs the image with box.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { ImageConfig } from '../../src/image/config';
import { storeLayer } from '../../src/image/layer-fetch';
import { parseImageRef } from '../../src/image/reference';
import { ImageStore, OVERLAY_DATA_LIMIT } from '../../src/image/store';
import { storeLock } from '../../src/image/store-lock';
import { readdirOrEmpty } from '../../src/util/fs';
import { BOX, busyboxTarball, mountsUnder } from '../support/box';
import { makeTar } from '../support/tar';
import { removeRootNetworkObjects } from '../support/network';

const LAYERS = 130;
let dir: string;
let store: ImageStore;
let config: ImageConfig;
let id: string;

const chunks = (buf: Buffer) => Readable.from([buf]);

beforeAll(async () => {
  // A short storage root, as /var/lib/box is: 130 links of <root>/l/<8 chars> must fit in a page.
  dir = fs.mkdtempSync('/tmp/bl');
  store = new ImageStore({ root: path.join(dir, 'r'), runroot: path.join(dir, 'run') });
  // Bottom: busybox plus /bottom and /shadow.
  const base = path.join(dir, 'base.tar');
  fs.copyFileSync(busyboxTarball(dir), base);
  fs.writeFileSync(path.join(dir, 'bottom'), 'from the bottom layer\n');
  fs.writeFileSync(path.join(dir, 'shadow'), 'low\n');
  const r = spawnSync(
    'tar',
    ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-rf', base, './bottom', './shadow'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const diffIds: string[] = [];
  diffIds.push((await storeLayer(store, fs.createReadStream(base), { what: 'bottom' })).diffId);
  for (let i = 1; i < LAYERS - 1; i++) {
    const tar = makeTar([{ path: `layers/${i}`, data: `${i}\n` }]);
    diffIds.push((await storeLayer(store, chunks(tar), { what: `layer ${i}` })).diffId);
  }
  const top = makeTar([
    { path: 'top', data: 'from the top layer\n' },
    { path: 'shadow', data: 'high\n' },
  ]);
  diffIds.push((await storeLayer(store, chunks(top), { what: 'top' })).diffId);
  config = {
    architecture: 'amd64',
    os: 'linux',
    created: new Date().toISOString(),
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  id = store.putConfig(config);
  await store.registerImage(id);
  store.tag(parseImageRef('many:130'), id);
}, 120_000);

afterAll(() => {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  // `box run` made the root's default bridge and nftables table: they go with the root
  removeRootNetworkObjects(store.roots.root);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('an image of 130 layers', () => {
  it('has a short link for every layer, made when the layer was committed', () => {
    expect(new Set(config.rootfs.diff_ids).size).toBe(LAYERS);
    const lowers = store.overlayLowerDirs(config);
    expect(lowers).toHaveLength(LAYERS);
    for (const [i, l] of lowers.entries()) {
      expect(l).toMatch(new RegExp(`^${store.roots.root}/l/[a-z0-9]{8}$`));
      // Topmost first.
      expect(fs.realpathSync(l)).toBe(store.layerDiff(config.rootfs.diff_ids[LAYERS - 1 - i]));
      expect(
        fs.readFileSync(path.join(store.layerDir(config.rootfs.diff_ids[LAYERS - 1 - i]), 'link'), 'utf8').trim(),
      ).toBe(path.basename(l));
    }
    // The full paths would not fit in overlay's page of options; the links do, with room to spare.
    expect(`lowerdir=${store.lowerDirs(config).join(':')}`.length).toBeGreaterThan(OVERLAY_DATA_LIMIT);
    expect(`lowerdir=${lowers.join(':')}`.length).toBeLessThan(OVERLAY_DATA_LIMIT - 512);
    expect(fs.readdirSync(store.linksDir())).toHaveLength(LAYERS);
  });

  it('overlayfs mounts the 130 short lower dirs: bottom and top files are visible, the top one wins', () => {
    const m = path.join(dir, 'mnt');
    for (const d of ['upper', 'work', 'mnt']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const opts = `lowerdir=${store.overlayLowerDirs(config).join(':')},upperdir=${dir}/upper,workdir=${dir}/work`;
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', opts, m], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    try {
      expect(fs.readFileSync(path.join(m, 'bottom'), 'utf8')).toBe('from the bottom layer\n');
      expect(fs.readFileSync(path.join(m, 'top'), 'utf8')).toBe('from the top layer\n');
      expect(fs.readFileSync(path.join(m, 'shadow'), 'utf8')).toBe('high\n');
      expect(fs.readdirSync(path.join(m, 'layers'))).toHaveLength(LAYERS - 2);
    } finally {
      spawnSync('umount', [m]);
    }
  });

  it('a layer stored before links existed gets one on first use, once, even when asked twice', () => {
    const d = config.rootfs.diff_ids[5];
    const old = fs.readFileSync(path.join(store.layerDir(d), 'link'), 'utf8').trim();
    fs.rmSync(path.join(store.layerDir(d), 'link'));
    fs.rmSync(path.join(store.linksDir(), old));
    const a = store.layerLink(d);
    const b = store.layerLink(d);
    expect(a).toBe(b);
    expect(fs.realpathSync(a)).toBe(store.layerDiff(d));
    expect(fs.readdirSync(store.linksDir())).toHaveLength(LAYERS);
  });

  it('asks its store lock to leave the marker before it writes a link, and only then', async () => {
    const d = config.rootfs.diff_ids[6];
    const old = fs.readFileSync(path.join(store.layerDir(d), 'link'), 'utf8').trim();
    fs.rmSync(path.join(store.layerDir(d), 'link'));
    fs.rmSync(path.join(store.linksDir(), old));
    const markers = () => readdirOrEmpty(path.join(store.roots.runroot, 'store-ops')).filter((m) => m !== 'swept');
    // as a container's creation takes it: no marker while it only reads (a file made and deleted per start)
    const lock = await storeLock(store.roots, 'shared', { markOnWrite: true });
    try {
      const reader = new ImageStore(store.roots);
      reader.beforeLinkWrite = () => lock.markWrites();
      reader.layerLink(config.rootfs.diff_ids[0]);
      expect(markers()).toEqual([]);
      reader.layerLink(d); // the layer predates links: the marker first, so a kill here is swept after
      expect(markers()).toEqual([expect.stringMatching(new RegExp(`^op-${process.pid}\\.`))]);
    } finally {
      lock.release();
    }
    expect(markers()).toEqual([]);
  });

  it('box run runs it and sees files of the bottom and the top layer', () => {
    const r = spawnSync(
      BOX,
      [
        '--root',
        store.roots.root,
        'run',
        '--rm',
        'many:130',
        '/bin/busybox',
        'cat',
        '/bottom',
        '/top',
        '/shadow',
        '/layers/64',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from the bottom layer\nfrom the top layer\nhigh\n64\n');
    expect(r.status).toBe(0);
  });
});
