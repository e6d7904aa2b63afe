// Pulling from Debian's docker-registry (the reference distribution registry) started on
// 127.0.0.1: images built with umoci and pushed with skopeo, pulled by box's client and compared
// by digest; basic auth (htpasswd) and the bearer-token flow (test/support/token-server.ts);
// corrupt and truncated layers; concurrent pulls of the same image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { lgetxattr } from '../../src/linux/syscalls';
import { BOX, exitOf, storeSnapshot, TestRoot } from '../support/box';
import { Registry, run, startRegistry as startSharedRegistry, stopRegistry } from '../support/registry';
import { startTokenServer, TokenServer } from '../support/token-server';
import { PullEvent, pullImage } from '../../src/image/registry/pull';
import { ImageStore } from '../../src/image/store';
import { Roots } from '../../src/paths';

/** pulls that unpack on the calling thread, and on layer workers (which run the built dist/assets/layer-worker.js) */
const UNPACK_THREADS: [string, number][] = [
  ['on the calling thread', 0],
  ['on layer worker threads', 2],
];

const tools = ['docker-registry', 'skopeo', 'umoci', 'htpasswd', 'openssl'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length)
  throw new Error(
    `missing test tools: ${missing.join(', ')} (apt-get install docker-registry skopeo umoci apache2-utils openssl)`,
  );

// A TestRoot's directory: its cleanup also removes the default bridge and nftables table of the
// storage roots `box run` used in it (cli-root), which deleting the directory alone would leave.
const dir = new TestRoot('box-pull-');
let work: string;
const registries: Registry[] = [];

/** A registry on 127.0.0.1 with storage under work/NAME, stopped in afterAll. */
async function startRegistry(name: string, authYaml = ''): Promise<Registry> {
  const reg = await startSharedRegistry(path.join(work, name), authYaml);
  registries.push(reg);
  return reg;
}

/** skopeo copy, without blocking this process: the token server below runs in it. */
function push(src: string, dest: string, extra: string[] = []): Promise<void> {
  return runAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...extra, src, `docker://${dest}`]);
}

function runAsync(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${out}`)),
    );
  });
}

/** skopeo inspect, run while the token server can answer. */
async function skopeoInspect(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('skopeo', ['inspect', '--tls-verify=false', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`skopeo inspect ${args.join(' ')}: ${err}`)),
    );
  });
}

async function inspectRaw(
  ref: string,
  extra: string[] = [],
): Promise<{ config: { digest: string }; layers: { digest: string }[] }> {
  return JSON.parse(await skopeoInspect(['--raw', ...extra, `docker://${ref}`]));
}

async function inspectConfig(
  ref: string,
  extra: string[] = [],
): Promise<{ rootfs: { diff_ids: string[] }; config: { Cmd: string[] } }> {
  return JSON.parse(await skopeoInspect(['--config', ...extra, `docker://${ref}`]));
}

/** `box ARGS` without blocking this process. */
function exitOfBox(args: string[]) {
  return exitOf(spawn(BOX, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

let storeCount = 0;
function newStore(): ImageStore {
  const base = path.join(work, `store-${storeCount++}`);
  const roots: Roots = { root: path.join(base, 'root'), runroot: path.join(base, 'run') };
  return new ImageStore(roots);
}

let layout: string;
let reg: Registry;

beforeAll(async () => {
  work = dir.dir;
  // An image in three layers: busybox and files; a deletion (a whiteout) and a new file; a config change.
  layout = path.join(work, 'layout');
  const bundle = path.join(work, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:base`]);
  run('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  for (const d of ['bin', 'etc', 'data/keep', 'data/opaque', 'tmp'])
    fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh'));
  fs.writeFileSync(path.join(rootfs, 'etc/hostname'), 'from-the-registry\n');
  fs.writeFileSync(path.join(rootfs, 'data/keep/old'), 'deleted in the next layer');
  fs.writeFileSync(path.join(rootfs, 'data/owned'), 'owned');
  fs.chownSync(path.join(rootfs, 'data/owned'), 1234, 4321);
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
  fs.rmSync(path.join(rootfs, 'data/keep/old'));
  fs.writeFileSync(path.join(rootfs, 'data/new'), 'added');
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v2`, bundle]);
  run('umoci', [
    'config',
    '--image',
    `${layout}:v2`,
    '--config.cmd',
    '/bin/busybox',
    '--config.cmd',
    'cat',
    '--config.cmd',
    '/etc/hostname',
  ]);
  fs.rmSync(bundle, { recursive: true, force: true });
  reg = await startRegistry('plain');
  await push(`oci:${layout}:v2`, `${reg.host}/test/img:v2`);
  await push(`oci:${layout}:v2`, `${reg.host}/test/docker:v2`, ['--format', 'v2s2']);
  await push(`oci:${layout}:v1`, `${reg.host}/test/img:v1`);
});

afterAll(async () => {
  for (const r of registries) await stopRegistry(r);
  dir.cleanup();
});

describe('pull from a registry without authentication', () => {
  it('pulls an OCI image: id, layers and files match what the registry holds', async () => {
    const store = newStore();
    const ref = `${reg.host}/test/img:v2`;
    const events: PullEvent[] = [];
    const id = await pullImage(store, ref, { onEvent: (e) => events.push(e) });
    const manifest = await inspectRaw(ref);
    const config = await inspectConfig(ref);
    expect(id).toBe(manifest.config.digest);
    expect(store.resolve(ref)).toBe(id);
    const rec = store.get(id);
    expect(rec.tags).toEqual([ref]);
    expect(rec.config.rootfs.diff_ids).toEqual(config.rootfs.diff_ids);
    expect(rec.config.config?.Cmd).toEqual(['/bin/busybox', 'cat', '/etc/hostname']);
    for (const d of config.rootfs.diff_ids) expect(store.hasLayer(d)).toBe(true);
    const manifestDigest = (events.find((e) => e.type === 'done') as { digest: string }).digest;
    expect(fs.existsSync(path.join(store.roots.root, 'blobs/sha256', manifestDigest.slice(7)))).toBe(true);
    expect(
      events
        .filter((e) => e.type === 'layer-done')
        .map((e) => (e as { digest: string }).digest)
        .sort(),
    ).toEqual(manifest.layers.map((l) => l.digest).sort());

    const [l1, l2] = config.rootfs.diff_ids.map((d) => store.layerDiff(d));
    expect(fs.readFileSync(path.join(l1, 'etc/hostname'), 'utf8')).toBe('from-the-registry\n');
    expect(fs.readlinkSync(path.join(l1, 'bin/sh'))).toBe('busybox');
    expect(fs.statSync(path.join(l1, 'bin/busybox')).size).toBe(fs.statSync('/bin/busybox').size);
    expect(fs.statSync(path.join(l1, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect([fs.statSync(path.join(l1, 'data/owned')).uid, fs.statSync(path.join(l1, 'data/owned')).gid]).toEqual([
      1234, 4321,
    ]);
    // The deletion in the second layer is an overlay whiteout.
    const wh = fs.lstatSync(path.join(l2, 'data/keep/old'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(fs.readFileSync(path.join(l2, 'data/new'), 'utf8')).toBe('added');
    expect(lgetxattr(path.join(l2, 'data'), 'trusted.overlay.opaque')).toBeUndefined();
    // No work directories are left.
    expect(fs.readdirSync(path.join(store.roots.root, 'layers')).filter((d) => d.startsWith('.tmp'))).toEqual([]);
  });

  it('box pull -q prints the image id, and box run runs the pulled layers stacked by overlayfs', () => {
    const root = path.join(work, 'cli-root');
    const ref = `${reg.host}/test/img:v2`;
    const pulled = spawnSync(BOX, ['--root', root, 'pull', '-q', ref], { encoding: 'utf8' });
    expect(pulled.stderr).toBe('');
    expect(pulled.status).toBe(0);
    expect(pulled.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ran = spawnSync(BOX, ['--root', root, 'run', '--rm', ref], { encoding: 'utf8' });
    // The image's Cmd (cat /etc/hostname) ran; box mounts the container's own /etc/hostname over the image's.
    expect(ran.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    const files = spawnSync(
      BOX,
      ['--root', root, 'run', '--rm', ref, '/bin/sh', '-c', 'ls /data/keep; cat /data/new'],
      { encoding: 'utf8' },
    );
    expect(files.stdout).toBe('added'); // the whiteout of the second layer hides data/keep/old
  });

  it('pulls Docker schema2 manifests too, and reuses layers it already has', async () => {
    const store = newStore();
    const id1 = await pullImage(store, `${reg.host}/test/img:v1`);
    expect(id1).toBe((await inspectRaw(`${reg.host}/test/img:v1`)).config.digest);
    const events: PullEvent[] = [];
    const id2 = await pullImage(store, `${reg.host}/test/docker:v2`, { onEvent: (e) => events.push(e) });
    expect(id2).toBe((await inspectRaw(`${reg.host}/test/docker:v2`)).config.digest);
    // The first layer came with v1: only the second one is downloaded.
    expect(events.filter((e) => e.type === 'layer-exists')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'layer-done')).toHaveLength(1);
    // Pulling again downloads nothing.
    const again: PullEvent[] = [];
    expect(await pullImage(store, `${reg.host}/test/docker:v2`, { onEvent: (e) => again.push(e) })).toBe(id2);
    expect(again.filter((e) => e.type === 'layer-start')).toEqual([]);
  });

  it('pulls by digest', async () => {
    const store = newStore();
    const raw = await skopeoInspect(['--raw', `docker://${reg.host}/test/img:v2`]);
    const digest = 'sha256:' + crypto.createHash('sha256').update(raw).digest('hex');
    const id = await pullImage(store, `${reg.host}/test/img@${digest}`);
    expect(id).toBe(JSON.parse(raw).config.digest);
    expect(store.allTags()).toEqual([]); // a digest reference is not a tag
  });

  it('chooses the platform from an image index', async () => {
    // An index naming v2's manifest linux/amd64 and v1's linux/arm64/v8.
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string>; digest: string; size: number; mediaType: string }[];
    };
    const desc = (tag: string) => {
      const m = index.manifests.find((x) => x.annotations['org.opencontainers.image.ref.name'] === tag)!;
      return { mediaType: m.mediaType, digest: m.digest, size: m.size };
    };
    const multi = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { ...desc('v1'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { ...desc('v2'), platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const digest = 'sha256:' + crypto.createHash('sha256').update(multi).digest('hex');
    fs.writeFileSync(path.join(layout, 'blobs/sha256', digest.slice(7)), multi);
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest,
      size: multi.length,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' },
    });
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
    await push(`oci:${layout}:multi`, `${reg.host}/test/multi:1`, ['--all']);

    const store = newStore();
    const amd = await pullImage(store, `${reg.host}/test/multi:1`, { platform: 'linux/amd64' });
    expect(amd).toBe((await inspectRaw(`${reg.host}/test/img:v2`)).config.digest);
    const arm = await pullImage(store, `${reg.host}/test/multi:1`, { platform: 'linux/arm64' });
    expect(arm).toBe((await inspectRaw(`${reg.host}/test/img:v1`)).config.digest);
    await expect(pullImage(store, `${reg.host}/test/multi:1`, { platform: 'linux/s390x' })).rejects.toThrow(
      'no image for linux/s390x (the image has linux/arm64/v8, linux/amd64)',
    );
  });

  it('two concurrent pulls of one image both succeed and write each layer once', async () => {
    const store = newStore();
    const starts: string[] = [];
    const onEvent = (e: PullEvent) => {
      if (e.type === 'layer-start') starts.push(e.digest);
    };
    const [a, b] = await Promise.all([
      pullImage(store, `${reg.host}/test/img:v2`, { onEvent }),
      pullImage(store, `${reg.host}/test/img:v2`, { onEvent }),
    ]);
    expect(a).toBe(b);
    expect(starts.sort()).toEqual((await inspectRaw(`${reg.host}/test/img:v2`)).layers.map((l) => l.digest).sort());
  });

  it('concurrent pulls of one image under two names both end up in its record', async () => {
    await push(`oci:${layout}:v2`, `${reg.host}/twin/a:v2`);
    await push(`oci:${layout}:v2`, `${reg.host}/twin/b:v2`);
    const root = path.join(work, 'twins-root');
    const pulls = ['a', 'b'].map((n) => exitOfBox(['--root', root, 'pull', '-q', `${reg.host}/twin/${n}:v2`]));
    const [a, b] = await Promise.all(pulls);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
    expect(a.stdout).toBe(b.stdout);
    const digest =
      'sha256:' +
      crypto
        .createHash('sha256')
        .update(await skopeoInspect(['--raw', `docker://${reg.host}/twin/a:v2`]))
        .digest('hex');
    const [info] = JSON.parse(
      spawnSync(BOX, ['--root', root, 'image', 'inspect', a.stdout.trim()], { encoding: 'utf8' }).stdout,
    ) as { RepoDigests: string[]; RepoTags: string[] }[];
    expect(info.RepoDigests).toEqual([`${reg.host}/twin/a@${digest}`, `${reg.host}/twin/b@${digest}`]);
    expect(info.RepoTags.sort()).toEqual([`${reg.host}/twin/a:v2`, `${reg.host}/twin/b:v2`]);
  });

  it('registerImage from many processes at once loses no entry (its read-modify-write is serialised)', async () => {
    const store = newStore();
    const id = await pullImage(store, `${reg.host}/test/img:v1`);
    const script = path.join(work, 'register-many.ts');
    fs.writeFileSync(
      script,
      `import { ImageStore } from ${JSON.stringify(path.resolve(__dirname, '../../src/image/store'))};
const [root, runroot, id, who] = process.argv.slice(2);
const store = new ImageStore({ root, runroot });
(async () => { for (let i = 0; i < 60; i++) await store.registerImage(id, { repoDigest: 'r/' + who + '-' + i + '@sha256:' + '0'.repeat(64) }); })();
`,
    );
    const vn = path.resolve(__dirname, '../../node_modules/.bin/vite-node');
    const results = await Promise.all(
      ['p', 'q', 'r', 's'].map((who) =>
        exitOf(
          spawn(vn, [script, store.roots.root, store.roots.runroot, id, who], { stdio: ['ignore', 'pipe', 'pipe'] }),
        ),
      ),
    );
    for (const r of results) expect([r.code, r.stderr]).toEqual([0, '']);
    expect(store.get(id).repoDigests.filter((r) => r.startsWith('r/'))).toHaveLength(4 * 60);
  }, 60_000);

  it('with layer worker threads, a layer is asked for only when a thread can take it (no response waits and times out)', async () => {
    const manifest = await inspectRaw(`${reg.host}/test/img:v2`);
    const layers = manifest.layers.map((l: { digest: string }) => l.digest);
    expect(layers.length).toBeGreaterThan(1);
    // One sequence of what the registry is asked for (seen by a proxy) and what the pull stored.
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
      if (req.method === 'GET' && blob && layers.includes(blob)) seen.push(`GET ${blob}`);
      const up = http.request(
        { host: '127.0.0.1', port: reg.port, path: req.url, method: req.method, headers: req.headers },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      await pullImage(newStore(), `${host}/test/img:v2`, {
        concurrency: 3,
        unpackThreads: 1,
        onEvent: (e) => {
          if (e.type === 'layer-unpacked') seen.push(`unpacked ${e.digest}`);
        },
      });
      // One thread: each layer is unpacked before the next is asked for (its commit may overlap that).
      expect(seen.map((l) => l.split(' ')[0])).toEqual(layers.flatMap(() => ['GET', 'unpacked']));
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('asks for the largest layer first (a big layer started last would end the pull alone on one thread)', async () => {
    // An image whose small layer comes before its big one.
    const sized = path.join(work, 'sized');
    const bundle = path.join(work, 'sized-bundle');
    run('umoci', ['init', '--layout', sized]);
    run('umoci', ['new', '--image', `${sized}:v1`]);
    run('umoci', ['unpack', '--image', `${sized}:v1`, bundle]);
    fs.writeFileSync(path.join(bundle, 'rootfs/small'), 'small');
    run('umoci', ['repack', '--refresh-bundle', '--image', `${sized}:v1`, bundle]);
    fs.writeFileSync(path.join(bundle, 'rootfs/big'), crypto.randomBytes(300_000));
    run('umoci', ['repack', '--refresh-bundle', '--image', `${sized}:v1`, bundle]);
    fs.rmSync(bundle, { recursive: true, force: true });
    await push(`oci:${sized}:v1`, `${reg.host}/test/sized:v1`);
    const layers = (await inspectRaw(`${reg.host}/test/sized:v1`)).layers as { digest: string; size: number }[];
    expect(layers[0].size).toBeLessThan(layers[1].size);
    const asked: string[] = [];
    await pullImage(newStore(), `${reg.host}/test/sized:v1`, {
      unpackThreads: 1,
      onEvent: (e) => {
        if (e.type === 'layer-start') asked.push(e.digest);
      },
    });
    expect(asked).toEqual([layers[1].digest, layers[0].digest]);
  });

  it.each(UNPACK_THREADS)(
    'an interrupted pull leaves no image and no work directory, and the next pull completes (%s)',
    async (_how, unpackThreads) => {
      const store = newStore();
      const ref = `${reg.host}/test/img:v2`;
      const manifest = await inspectRaw(ref);
      const config = await inspectConfig(ref);
      // What a pull killed while unpacking leaves behind: a work directory of a layer.
      const stale = path.join(
        store.roots.root,
        'layers',
        `.tmp-unpack-${config.rootfs.diff_ids[0].slice(7)}-deadbeef0000`,
      );
      fs.mkdirSync(path.join(stale, 'diff'), { recursive: true });
      const abort = new AbortController();
      const err = await pullImage(store, ref, {
        signal: abort.signal,
        concurrency: 1,
        unpackThreads,
        onEvent: (e) => {
          if (e.type === 'layer-progress') abort.abort();
        },
      }).catch((e: Error) => e);
      expect(String(err)).toContain('interrupted');
      expect(store.list()).toEqual([]);
      expect(store.allTags()).toEqual([]);
      const id = await pullImage(store, ref, { unpackThreads });
      expect(id).toBe(manifest.config.digest);
      // The dead process's work directory went when the layer's lock was taken.
      expect(fs.readdirSync(path.join(store.roots.root, 'layers')).filter((d) => d.startsWith('.tmp'))).toEqual([]);
    },
  );

  it('reports unknown images and tags clearly', async () => {
    const store = newStore();
    await expect(pullImage(store, `${reg.host}/test/img:nope`)).rejects.toThrow(
      `${reg.host}/test/img:nope: not found: MANIFEST_UNKNOWN`,
    );
    await expect(pullImage(store, `${reg.host}/test/nothing:v1`)).rejects.toThrow(/not found/);
    expect(storeSnapshot(store.roots.root)).toEqual([]);
  });

  it.each(UNPACK_THREADS)(
    'a corrupt or truncated layer is an error and leaves the store exactly as before (%s)',
    async (_how, unpackThreads) => {
      const store = newStore();
      await pullImage(store, `${reg.host}/test/img:v1`, { unpackThreads });
      const before = storeSnapshot(store.roots.root);
      // Push a copy of v2 under another name, then damage its big layer in the registry's storage.
      const manifest = await inspectRaw(`${reg.host}/test/img:v2`);
      const big = manifest.layers[0].digest.slice(7);
      const small = manifest.layers[1].digest.slice(7);
      const data = (hex: string) =>
        path.join(reg.dir, 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      const original = fs.readFileSync(data(small));
      const bigOriginal = fs.readFileSync(data(big));
      try {
        // The first layer is in the store already; damage the second one (same size, other bytes).
        const corrupt = Buffer.from(original);
        corrupt[corrupt.length - 9] ^= 0xff; // inside gzip's trailer: the bytes inflate, the digest is wrong
        fs.writeFileSync(data(small), corrupt);
        await expect(pullImage(store, `${reg.host}/test/img:v2`, { unpackThreads })).rejects.toThrow(
          /layer 742e|failed verification|corrupt/,
        );
        expect(storeSnapshot(store.roots.root)).toEqual(before);
        // The same tar in another gzip header (its OS byte): it inflates to the right diff_id, and
        // only the check of the compressed digest refuses it.
        const otherHeader = Buffer.from(original);
        otherHeader[9] ^= 0x01;
        fs.writeFileSync(data(small), otherHeader);
        await expect(pullImage(store, `${reg.host}/test/img:v2`, { unpackThreads })).rejects.toThrow(
          new RegExp(`layer ${small.slice(0, 12)} failed verification: expected digest sha256:${small}`),
        );
        expect(storeSnapshot(store.roots.root)).toEqual(before);
        // Truncated: the registry announces the full size but sends less.
        fs.writeFileSync(data(small), original.subarray(0, 60));
        await expect(pullImage(store, `${reg.host}/test/img:v2`, { unpackThreads })).rejects.toThrow(
          /truncated|corrupt|aborted|socket hang up/,
        );
        expect(storeSnapshot(store.roots.root)).toEqual(before);
        // Corruption in the middle of a big layer, in a fresh store: nothing at all is kept.
        const fresh = newStore();
        const bigCorrupt = Buffer.from(bigOriginal);
        bigCorrupt[Math.floor(bigCorrupt.length / 2)] ^= 0xff;
        fs.writeFileSync(data(big), bigCorrupt);
        fs.writeFileSync(data(small), original);
        const err = await pullImage(fresh, `${reg.host}/test/img:v2`, { unpackThreads }).catch((e: Error) => e);
        expect(String(err)).toMatch(/layer [0-9a-f]{12}.*(corrupt|failed verification)/);
        const leftover = storeSnapshot(fresh.roots.root).filter(
          (l) => !/^(blobs|layers)(\/sha256)? /.test(l) && !/^(blobs|layers) /.test(l),
        );
        // Only the small layer, complete and verified, may have been stored; no image, no tag, no work dir.
        expect(leftover.filter((l) => l.startsWith('repositories') || l.includes('.tmp'))).toEqual([]);
        expect(fresh.list()).toEqual([]);
      } finally {
        fs.writeFileSync(data(small), original);
        fs.writeFileSync(data(big), bigOriginal);
      }
      // And the next pull completes it.
      const id = await pullImage(store, `${reg.host}/test/img:v2`, { unpackThreads });
      expect(id).toBe(manifest.config.digest);
    },
  );
});

describe('pull with basic authentication (htpasswd)', () => {
  let authReg: Registry;
  beforeAll(async () => {
    const htpasswd = path.join(work, 'htpasswd');
    run('htpasswd', ['-Bbc', htpasswd, 'alice', 'wonderland']);
    authReg = await startRegistry('basic', `auth:\n  htpasswd:\n    realm: box-test\n    path: ${htpasswd}\n`);
    await push(`oci:${layout}:v2`, `${authReg.host}/private/img:v2`, ['--dest-creds', 'alice:wonderland']);
  });

  it('needs credentials, refuses wrong ones and pulls with the right ones', async () => {
    const store = newStore();
    await expect(pullImage(store, `${authReg.host}/private/img:v2`)).rejects.toThrow(
      `${authReg.host} requires a login (basic authentication)`,
    );
    await expect(
      pullImage(store, `${authReg.host}/private/img:v2`, { credentials: { username: 'alice', password: 'nope' } }),
    ).rejects.toThrow('the credentials of "alice" were refused');
    expect(storeSnapshot(store.roots.root)).toEqual([]);
    const id = await pullImage(store, `${authReg.host}/private/img:v2`, {
      credentials: { username: 'alice', password: 'wonderland' },
    });
    expect(id).toBe(
      (await inspectRaw(`${authReg.host}/private/img:v2`, ['--creds', 'alice:wonderland'])).config.digest,
    );
  });
});

describe('pull with bearer tokens (test/support/token-server.ts)', () => {
  let tokenReg: Registry;
  let tokens: TokenServer;
  let requests: TokenServer['requests'];

  beforeAll(async () => {
    tokens = await startTokenServer(path.join(work, 'token'));
    requests = tokens.requests;
    tokenReg = await startRegistry('bearer', tokens.authYaml);
    await push(`oci:${layout}:v2`, `${tokenReg.host}/public/img:v2`, ['--dest-creds', 'bob:builder']);
    await push(`oci:${layout}:v1`, `${tokenReg.host}/secret/img:v1`, ['--dest-creds', 'bob:builder']);
  });

  afterAll(async () => {
    await tokens?.close();
  });

  it('gets an anonymous token for a public repository', async () => {
    requests.length = 0;
    const store = newStore();
    const id = await pullImage(store, `${tokenReg.host}/public/img:v2`);
    const mine = [...requests];
    expect(id).toBe((await inspectRaw(`${tokenReg.host}/public/img:v2`, ['--creds', 'bob:builder'])).config.digest);
    // One anonymous token for the whole pull: the client caches it per scope.
    expect(mine).toEqual([{ scope: ['repository:public/img:pull'], user: undefined }]);
  });

  it('sends credentials to the token server and is refused without them', async () => {
    const store = newStore();
    await expect(pullImage(store, `${tokenReg.host}/secret/img:v1`)).rejects.toThrow(
      /authentication required|access denied/,
    );
    await expect(
      pullImage(store, `${tokenReg.host}/secret/img:v1`, { credentials: { username: 'bob', password: 'wrong' } }),
    ).rejects.toThrow(/refused the credentials of "bob"/);
    expect(storeSnapshot(store.roots.root)).toEqual([]);
    requests.length = 0;
    const id = await pullImage(store, `${tokenReg.host}/secret/img:v1`, {
      credentials: { username: 'bob', password: 'builder' },
    });
    const mine = [...requests];
    expect(id).toBe((await inspectRaw(`${tokenReg.host}/secret/img:v1`, ['--creds', 'bob:builder'])).config.digest);
    expect(mine).toEqual([{ scope: ['repository:secret/img:pull'], user: 'bob', account: 'bob' }]);
  });
});
