// Faults while pulling, against Debian's docker-registry behind a small proxy written here: the
// connection dropped halfway through a layer is a clear error that leaves the store exactly as it
// was, and the next pull completes. And a layer of 20000 small files unpacks (and saves) within a
// bound on memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { BOX, busyboxTarball, storeSnapshot, TestRoot } from '../support/box';
import { Registry, run, startRegistry, stopRegistry } from '../support/registry';
import { makeTar, HandEntry } from '../support/tar';

const t = new TestRoot('box-faults-');
let reg: Registry;
let proxy: http.Server;
let proxyHost: string;
/** digest of the blob whose response the proxy cuts off halfway (undefined: forward everything) */
let cut: string | undefined;
let cuts = 0;

beforeAll(async () => {
  reg = await startRegistry(path.join(t.dir, 'reg'));
  const layout = path.join(t.dir, 'layout');
  const bundle = path.join(t.dir, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:base`]);
  run('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
  // v0: one small layer; v1: the same and a big one (busybox).
  fs.writeFileSync(path.join(bundle, 'rootfs/first'), 'the first layer\n');
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v0`, bundle]);
  run('tar', ['-C', path.join(bundle, 'rootfs'), '-xf', busyboxTarball(t.dir)]);
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
  run('umoci', [
    'config',
    '--image',
    `${layout}:v1`,
    '--config.cmd',
    '/bin/busybox',
    '--config.cmd',
    'cat',
    '--config.cmd',
    '/first',
  ]);
  for (const v of ['v0', 'v1'])
    run('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:${v}`,
      `docker://${reg.host}/faults/img:${v}`,
    ]);

  // Forwards every request to the registry; for the blob named by `cut`, sends the headers and
  // half of the body, then destroys the connection.
  proxy = http.createServer((req, res) => {
    const up = http.request(
      { host: '127.0.0.1', port: reg.port, path: req.url, method: req.method, headers: req.headers },
      (ur) => {
        const isCut =
          cut !== undefined && req.method === 'GET' && req.url?.endsWith(`/blobs/${cut}`) && ur.statusCode === 200;
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (!isCut) return ur.pipe(res);
        const total = Number(ur.headers['content-length']);
        let sent = 0;
        ur.on('data', (chunk: Buffer) => {
          const take = Math.min(chunk.length, Math.floor(total / 2) - sent);
          if (take > 0) res.write(chunk.subarray(0, take));
          sent += take;
          if (sent >= Math.floor(total / 2)) {
            cuts++;
            ur.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyHost = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  if (reg) await stopRegistry(reg);
  t.cleanup();
});

describe('a registry that drops the connection mid-layer', () => {
  it('is a clear error, the store is exactly as before, and the next pull completes', async () => {
    const raw = JSON.parse(
      run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/faults/img:v1`]),
    );
    const [small, big] = raw.layers as { digest: string; size: number }[];
    expect(big.size).toBeGreaterThan(100_000);
    const root = new TestRoot('box-faults2-');
    try {
      // The store has v0, whose layer is v1's first: the state to keep.
      const v0 = await root.boxAsync(['pull', '-q', `${proxyHost}/faults/img:v0`]);
      expect(v0.stderr).toBe('');
      const before = storeSnapshot(root.root);

      cut = big.digest;
      const ref = `${proxyHost}/faults/img:v1`;
      const r = await root.boxAsync(['pull', ref]);
      expect(cuts).toBe(1);
      expect(r.status).toBe(125);
      expect(r.stdout).toContain(`${small.digest.slice(7, 19)}: Already exists`);
      expect(r.stderr).toMatch(
        new RegExp(
          `^box: ${proxyHost}/faults/img:v1: layer ${big.digest.slice(7, 19)}: the connection was lost after \\d+ of ${big.size} bytes\\n$`,
        ),
      );
      expect(storeSnapshot(root.root)).toEqual(before);

      cut = undefined;
      const again = await root.boxAsync(['pull', '-q', ref]);
      expect(again.stderr).toBe('');
      expect(again.stdout.trim()).toBe(raw.config.digest);
      const ran = await root.boxAsync(['run', '--rm', ref]);
      expect(ran.stdout).toBe('the first layer\n');
    } finally {
      cut = undefined;
      root.cleanup();
    }
  });
});

describe('a layer of many small files', () => {
  it('20000 files import and save within a bound on memory', () => {
    const entries: HandEntry[] = [];
    for (let d = 0; d < 100; d++) {
      entries.push({ path: `d${d}/`, type: 'dir' });
      for (let f = 0; f < 200; f++) entries.push({ path: `d${d}/file-${f}`, data: `${d}/${f}\n` });
    }
    const file = path.join(t.dir, 'many.tar');
    fs.writeFileSync(file, makeTar(entries));
    // GNU time's %M: the peak resident set of box, in KiB.
    const timed = (args: string[]) => {
      const r = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', BOX, ...t.args(args)], {
        encoding: 'utf8',
        timeout: 120_000,
        maxBuffer: 1 << 28,
      });
      const rss = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1]);
      return { ...r, rssMiB: rss / 1024, stderr: r.stderr.replace(/maxrss=\d+\n/, '') };
    };
    const start = Date.now();
    const imp = timed(['import', file, 'many:1']);
    const importMs = Date.now() - start;
    expect(imp.stderr).toBe('');
    expect(imp.status).toBe(0);
    const id = imp.stdout.trim();
    const diffId = JSON.parse(spawnSync(BOX, t.args(['image', 'inspect', 'many:1']), { encoding: 'utf8' }).stdout)[0]
      .RootFS.Layers[0];
    const diff = path.join(t.root, 'layers', diffId.slice(7), 'diff');
    expect(fs.readdirSync(diff).length).toBe(100);
    expect(fs.readdirSync(path.join(diff, 'd99')).length).toBe(200);
    expect(fs.readFileSync(path.join(diff, 'd42/file-7'), 'utf8')).toBe('42/7\n');

    const saved = path.join(t.dir, 'many-saved.tar');
    const start2 = Date.now();
    const save = timed(['save', '-o', saved, 'many:1']);
    const saveMs = Date.now() - start2;
    expect(save.stderr).toBe('');
    expect(save.status).toBe(0);
    const fresh = new TestRoot('box-faults3-');
    try {
      const loaded = spawnSync(BOX, fresh.args(['load', '-i', saved]), { encoding: 'utf8', timeout: 120_000 });
      expect(loaded.stderr).toBe('');
      expect(
        JSON.parse(spawnSync(BOX, fresh.args(['image', 'inspect', 'many:1']), { encoding: 'utf8' }).stdout)[0].Id,
      ).toBe(id);
    } finally {
      fresh.cleanup();
    }
    // The same commands on a one-file layer: what box itself (Node.js, the bundle) takes.
    const one = path.join(t.dir, 'one.tar');
    fs.writeFileSync(one, makeTar([{ path: 'only', data: 'x' }]));
    const base = timed(['import', one, 'one:1']);
    expect(base.status).toBe(0);
    const baseSave = timed(['save', '-o', path.join(t.dir, 'one-saved.tar'), 'one:1']);
    console.log(
      `20000 files: import ${importMs} ms, peak RSS ${imp.rssMiB.toFixed(1)} MiB (one file: ${base.rssMiB.toFixed(1)}); ` +
        `save ${saveMs} ms, peak RSS ${save.rssMiB.toFixed(1)} MiB (one file: ${baseSave.rssMiB.toFixed(1)})`,
    );
    // What the files add is bounded: the unpacker keeps a small record per path, tar-split
    // buffers at most ~1 MiB, and nothing holds whole files or the whole archive.
    expect(imp.rssMiB - base.rssMiB).toBeLessThan(40);
    expect(save.rssMiB - baseSave.rssMiB).toBeLessThan(32);
  });
});
