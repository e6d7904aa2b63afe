// Image management with the built binary: tag, image inspect, history, images (-a, --digests,
// --filter dangling), rmi's rules (as Docker's), image prune, and garbage collection of layers,
// blobs and stale work files, including a prune racing a pull from a real registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectGarbage } from '../../src/image/gc';
import { layerLock } from '../../src/image/locks';
import { PullEvent, pullImage } from '../../src/image/registry/pull';
import { ImageStore } from '../../src/image/store';
import { pruneImages } from '../../src/image/prune';
import { busyboxTarball, TestRoot } from '../support/box';
import { Registry, run, startRegistry, stopRegistry } from '../support/registry';

const t = new TestRoot('box-img-');
const store = () => new ImageStore({ root: t.root, runroot: path.join(t.root, 'run') });
const ok = (args: string[]) => {
  const r = t.box(args);
  if (r.status !== 0) throw new Error(`box ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
};
const layerDirs = () =>
  fs
    .readdirSync(path.join(t.root, 'layers'))
    .filter((d) => /^[0-9a-f]{64}$/.test(d))
    .sort();
let tarball: string;
let other: string;

beforeAll(() => {
  tarball = busyboxTarball(t.dir);
  // A second, different root filesystem: busybox plus one file.
  other = path.join(t.dir, 'other.tar');
  fs.copyFileSync(tarball, other);
  fs.writeFileSync(path.join(t.dir, 'extra'), 'extra\n');
  run('tar', ['--owner=0', '--group=0', '-C', t.dir, '-rf', other, './extra']);
});

afterAll(() => t.cleanup());

describe('tag, image inspect, history', () => {
  it('tag adds a name; image inspect shows Docker-shaped JSON', () => {
    const id = ok(['import', tarball, 'app:1', '--change', 'CMD ["sh"]', '--change', 'ENV A=b']).trim();
    expect(ok(['tag', 'app:1', 'registry.local:5000/team/app:2'])).toBe('');
    expect(ok(['tag', id.slice(7, 19), 'app:latest'])).toBe('');
    interface ImageInspect {
      Id: string;
      RepoTags: string[];
      RepoDigests: string[];
      Architecture: string;
      Os: string;
      Config: unknown;
      Created: string;
      Size: number;
      RootFS: { Type: string; Layers: string[] };
      GraphDriver: { Data: { UpperDir: string } };
    }
    const [info] = JSON.parse(ok(['image', 'inspect', 'app'])) as ImageInspect[];
    expect(info.Id).toBe(id);
    expect(info.RepoTags.sort()).toEqual(['app:1', 'app:latest', 'registry.local:5000/team/app:2']);
    expect(info.RepoDigests).toEqual([]);
    expect(info.Architecture).toMatch(/^(amd64|arm64)$/);
    expect(info.Os).toBe('linux');
    expect(info.Config).toEqual({ Cmd: ['sh'], Env: ['A=b'] });
    expect(Date.parse(info.Created)).toBeGreaterThan(0);
    expect(info.Size).toBe(fs.statSync(tarball).size);
    expect(info.RootFS.Type).toBe('layers');
    expect(info.RootFS.Layers).toHaveLength(1);
    expect(info.GraphDriver.Data.UpperDir).toBe(path.join(t.root, 'layers', info.RootFS.Layers[0].slice(7), 'diff'));
    // Unknown images: an error, and the others are still shown.
    const r = t.box(['image', 'inspect', 'app:1', 'nope:1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('box: no such image: nope:1\n');
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(1);
    expect(t.box(['tag', 'nope', 'x']).stderr).toBe('box: no such image: nope\n');
    expect(t.box(['tag', 'app:1', 'Bad Name']).status).toBe(125);
  });

  it('history shows the config history newest first, with each layer size', async () => {
    const s = store();
    const base = s.get(s.resolve('app:1')!);
    const cfg = {
      ...base.config,
      history: [
        {
          created: '2024-01-01T00:00:00Z',
          created_by: '/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ',
          comment: '',
        },
        { created: '2024-01-02T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
      ],
    };
    const id = s.putConfig(cfg);
    await s.registerImage(id);
    const out = ok(['history', id]).split('\n');
    expect(out[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(out[1]).toMatch(
      new RegExp(`^${id.slice(7, 19)}\\s+\\d+ (weeks|days) ago\\s+/bin/sh -c #\\(nop\\)  CMD \\["sh"\\]\\s+0B$`),
    );
    expect(out[2]).toMatch(/^<missing>\s+.*\/bin\/sh -c #\(nop\) ADD file:0123456789abcdef0…\s+[\d.]+MB$/);
    expect(out).toHaveLength(4);
    const json = ok(['history', '--format', 'json', '--no-trunc', id])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.map((j) => [j.ID, j.Size])).toEqual([
      [id, 0],
      ['<missing>', fs.statSync(tarball).size],
    ]);
    expect(ok(['history', '-q', 'app:1'])).toBe(ok(['images', '-q', 'app:1']));
    // The untagged image is dangling.
    expect(ok(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).toBe(id + '\n');
    expect(ok(['image', 'prune'])).toBe(`Deleted Images:\ndeleted: ${id}\n\nTotal reclaimed space: 0B\n`);
  });
});

describe('images, rmi and prune', () => {
  it('images lists tags, dangling images as <none>, digests, and filters', async () => {
    const s = store();
    const old = s.resolve('app:1')!;
    // Importing another root filesystem as app:1 leaves the old image without that tag.
    const next = ok(['import', other, 'app:1']).trim();
    await s.registerImage(next, { repoDigest: `app@sha256:${'a'.repeat(64)}` });
    const table = ok(['images', '--digests']).split('\n');
    expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table.find((l) => l.startsWith('app ') && / 1 /.test(l))).toMatch(
      new RegExp(`^app\\s+1\\s+sha256:a{64}\\s+${next.slice(7, 19)}\\s`),
    );
    expect(table.find((l) => l.startsWith('registry.local:5000/team/app'))).toMatch(
      new RegExp(`\\s2\\s+<none>\\s+${old.slice(7, 19)}`),
    );
    expect(ok(['images', '-a', '-q']).split('\n').filter(Boolean).sort()).toEqual(
      [next, old].map((i) => i.slice(7, 19)).sort(),
    );
    expect(ok(['images', '-q', '--filter', 'dangling=true'])).toBe('');
    expect(ok(['images', '-q', '--filter', 'dangling=false']).split('\n').filter(Boolean)).toHaveLength(2);
    expect(t.box(['images', '--filter', 'colour=x']).stderr).toMatch(/invalid --filter "colour=x"/);
    const rows = ok(['images', '--format', 'json'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.find((r) => r.Tag === '1').Digest).toBe(`sha256:${'a'.repeat(64)}`);
  });

  it('rmi: by tag removes only that tag while others remain; by id with several repositories needs -f', () => {
    const s = store();
    const old = s.resolve('app:latest')!;
    expect(ok(['rmi', 'app:latest'])).toBe('Untagged: app:latest\n');
    expect(s.get(old).tags).toEqual(['registry.local:5000/team/app:2']);
    ok(['tag', old, 'second:1']);
    const refused = t.box(['rmi', old.slice(7, 19)]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/,
    );
    const layer = s.get(old).config.rootfs.diff_ids[0];
    const forced = ok(['rmi', '-f', old.slice(7, 19)]);
    expect(forced.split('\n').sort().filter(Boolean)).toEqual([
      'Deleted: ' + old,
      'Untagged: registry.local:5000/team/app:2',
      'Untagged: second:1',
    ]);
    expect(s.hasImage(old)).toBe(false);
    // Its layer went with it (no other image uses it), and so did its short link.
    expect(s.hasLayer(layer)).toBe(false);
    expect(fs.readdirSync(s.linksDir())).toHaveLength(layerDirs().length);
    expect(t.box(['rmi', 'nope']).stderr).toBe('box: no such image: nope\n');
  });

  it('rmi refuses an image a container uses unless -f; the container keeps its layers', () => {
    const s = store();
    const id = s.resolve('app:1')!;
    const layers = s.get(id).config.rootfs.diff_ids;
    const cid = ok(['create', '--name', 'user1', 'app:1', '/bin/busybox', 'cat', '/extra']).trim();
    const refused = t.box(['rmi', 'app:1']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `conflict: unable to remove repository reference "app:1" \\(must force\\) - container ${cid.slice(0, 12)} \\(user1\\) is using`,
      ),
    );
    expect(t.box(['rmi', id]).stderr).toMatch(/\(must be forced\) - image is being used by stopped container/);
    expect(ok(['rmi', '-f', 'app:1'])).toBe(
      `Untagged: app:1\nUntagged: app@sha256:${'a'.repeat(64)}\nDeleted: ${id}\n`,
    );
    expect(s.list()).toEqual([]);
    for (const l of layers) expect(s.hasLayer(l)).toBe(true);
    // Pruning keeps them too, while the container exists; and the container still runs.
    ok(['image', 'prune', '-a']);
    for (const l of layers) expect(s.hasLayer(l)).toBe(true);
    const started = t.box(['start', '-a', 'user1']);
    expect(started.stdout).toBe('extra\n');
    ok(['rm', 'user1']);
    const pruned = ok(['image', 'prune', '-a']);
    expect(pruned).toMatch(/^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+MB\n$/);
    expect(layerDirs()).toEqual([]);
    expect(fs.readdirSync(s.linksDir())).toEqual([]);
    expect(ok(['image', 'prune'])).toBe('Total reclaimed space: 0B\n');
  });
});

describe('garbage collection', () => {
  it('removes stale work files and unreferenced blobs, but not a work dir whose layer lock is held', async () => {
    const s = store();
    const id = ok(['import', tarball, 'gc:1']).trim();
    const hex = 'b'.repeat(64);
    const live = path.join(t.root, 'layers', `.tmp-unpack-${hex}-0123456789ab`);
    const dead = path.join(t.root, 'layers', `.tmp-unpack-${'c'.repeat(64)}-0123456789ab`);
    for (const d of [live, dead]) fs.mkdirSync(path.join(d, 'diff'), { recursive: true });
    fs.writeFileSync(path.join(t.root, 'blobs/sha256', '.tmp-x-123'), 'half');
    fs.writeFileSync(path.join(t.root, 'blobs/sha256', 'd'.repeat(64)), 'orphan');
    fs.writeFileSync(path.join(t.root, 'repositories', encodeURIComponent('gc'), '.tmp-1-abc'), 'half');
    fs.symlinkSync('../layers/nothing/diff', path.join(s.linksDir(), 'dangling'));
    const lock = await layerLock(s.roots, `sha256:${hex}`);
    try {
      const res = collectGarbage(s, { containerLayers: () => [] });
      expect(res.blobs).toEqual([`sha256:${'d'.repeat(64)}`]);
      expect(res.temp).toBe(4);
      expect(res.layers).toEqual([]);
      expect(fs.existsSync(live)).toBe(true);
      expect(fs.existsSync(dead)).toBe(false);
    } finally {
      lock.release();
    }
    expect(collectGarbage(s, { containerLayers: () => [] }).temp).toBe(1);
    expect(fs.existsSync(live)).toBe(false);
    expect(s.resolve('gc:1')).toBe(id);
    expect(s.hasLayer(s.get(id).config.rootfs.diff_ids[0])).toBe(true);
    ok(['rmi', 'gc:1']);
    expect(layerDirs()).toEqual([]);
  });

  describe('a prune racing a pull', () => {
    let reg: Registry;
    beforeAll(async () => {
      const layout = path.join(t.dir, 'layout');
      const bundle = path.join(t.dir, 'bundle');
      run('umoci', ['init', '--layout', layout]);
      run('umoci', ['new', '--image', `${layout}:base`]);
      run('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
      run('tar', ['-C', path.join(bundle, 'rootfs'), '-xf', tarball]);
      run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
      for (let i = 0; i < 4; i++) {
        fs.writeFileSync(path.join(bundle, 'rootfs', `f${i}`), crypto(i));
        run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
      }
      reg = await startRegistry(path.join(t.dir, 'registry'));
      run('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${reg.host}/race/img:v1`,
      ]);
    });
    afterAll(async () => {
      if (reg) await stopRegistry(reg);
    });

    it('waits for the pull: nothing the pull wrote is collected, the image is complete and runs', async () => {
      const s = store();
      const order: string[] = [];
      let prune: Promise<unknown> | undefined;
      const pulled = pullImage(s, `${reg.host}/race/img:v1`, {
        concurrency: 1,
        onEvent: (e: PullEvent) => {
          // The first layer is committed and the pull goes on: the moment a collector would see
          // layers that no image references yet.
          if (e.type === 'layer-done' && !prune) prune = pruneImages(s, true).then(() => order.push('prune'));
        },
      }).then((id) => {
        order.push('pull');
        return id;
      });
      const id = await pulled;
      await prune;
      expect(order).toEqual(['pull', 'prune']);
      // prune -a ran after the pull: the image is unused, so it is removed as a whole, never in part.
      expect(s.list()).toEqual([]);
      expect(layerDirs()).toEqual([]);
      // And a prune that only takes dangling images leaves a concurrent pull's image complete.
      let prune2: Promise<unknown> | undefined;
      const id2 = await pullImage(s, `${reg.host}/race/img:v1`, {
        concurrency: 1,
        onEvent: (e) => {
          if (e.type === 'layer-done' && !prune2) prune2 = pruneImages(s, false);
        },
      });
      await prune2;
      expect(id2).toBe(id);
      for (const d of s.get(id).config.rootfs.diff_ids) expect(s.hasLayer(d)).toBe(true);
      const r = t.box(['run', '--rm', `${reg.host}/race/img:v1`, '/bin/busybox', 'cat', '/f3']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(crypto(3));
    });
  });
});

function crypto(i: number): string {
  return `file ${i}\n`.repeat(1000 * (i + 1));
}
