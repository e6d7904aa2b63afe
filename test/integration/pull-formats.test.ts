// `box pull` against Debian's docker-registry for the formats skopeo writes: a Docker manifest
// list (platform chosen by --platform), a single-platform image that does not match --platform,
// an OCI layout written by box save pushed with its uncompressed layers, zstd layers, and
// manifests and configs whose content does not match their digest. Then TLS with a self-signed
// certificate, and the progress display on a terminal and off it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { BOX, busyboxTarball, exitOf, REPO, storeSnapshot, TestRoot } from '../support/box';
import { Registry, run, startRegistry, stopRegistry } from '../support/registry';

const t = new TestRoot('box-formats-');
let reg: Registry;
let layout: string;
const ids: Record<string, string> = {};
let rootCount = 0;

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const newRoot = () => path.join(t.dir, `root-${rootCount++}`);
/** box with its own root, without blocking this process (the proxy below runs in it). */
const box = (root: string, args: string[], env = process.env) =>
  exitOf(spawn(BOX, ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }));
const push = (src: string, dest: string, extra: string[] = []) =>
  run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...extra, src, `docker://${dest}`]);
const rawManifest = (ref: string) =>
  JSON.parse(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
/** The file of a blob in the registry's storage. */
const blobFile = (digest: string) =>
  path.join(reg.dir, 'storage/docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');

/** Adds an OCI index named `tag` to the layout, listing the given tags' manifests with their platforms. */
function addIndex(tag: string, entries: [string, { os: string; architecture: string; variant?: string }][]): void {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { annotations?: Record<string, string>; digest: string; size: number; mediaType: string }[];
  };
  const desc = (name: string) => {
    const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === name)!;
    return { mediaType: m.mediaType, digest: m.digest, size: m.size };
  };
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: entries.map(([n, platform]) => ({ ...desc(n), platform })),
    }),
  );
  fs.writeFileSync(path.join(layout, 'blobs/sha256', sha(body).slice(7)), body);
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: sha(body),
    size: body.length,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  });
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
}

/** The distribution API's monolithic upload: every blob the manifest names, then the manifest, byte for byte. */
async function uploadLayout(dir: string, manifest: Buffer, repo: string, tag: string): Promise<void> {
  const m = JSON.parse(manifest.toString()) as {
    config: { digest: string };
    layers: { digest: string }[];
    mediaType: string;
  };
  const call = (method: string, url: string, body: Buffer, type = 'application/octet-stream') =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        new URL(url, `http://${reg.host}`),
        { method, headers: { 'content-type': type, 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
    const started = await call('POST', `/v2/${repo}/blobs/uploads/`, Buffer.alloc(0));
    const location = new URL(started.headers.location!, `http://${reg.host}`);
    location.searchParams.set('digest', d);
    const put = await call('PUT', location.toString(), fs.readFileSync(path.join(dir, 'blobs/sha256', d.slice(7))));
    expect(put.statusCode).toBe(201);
  }
  expect((await call('PUT', `/v2/${repo}/manifests/${tag}`, manifest, m.mediaType)).statusCode).toBe(201);
}

beforeAll(async () => {
  // amd: busybox and /arch (amd64); arm: only /arch (arm64); badman and badcfg: amd with a config
  // of their own, so that damaging their blobs in the registry touches no other image.
  layout = path.join(t.dir, 'layout');
  const bundle = path.join(t.dir, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:base`]);
  run('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
  fs.writeFileSync(path.join(bundle, 'rootfs/arch'), 'arm64\n');
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:arm`, bundle]);
  run('umoci', ['config', '--image', `${layout}:arm`, '--architecture', 'arm64']);
  run('tar', ['-C', path.join(bundle, 'rootfs'), '-xf', busyboxTarball(t.dir)]);
  fs.writeFileSync(path.join(bundle, 'rootfs/arch'), 'amd64\n');
  run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:amd`, bundle]);
  run('umoci', [
    'config',
    '--image',
    `${layout}:amd`,
    '--architecture',
    'amd64',
    '--config.cmd',
    '/bin/cat',
    '--config.cmd',
    '/arch',
  ]);
  for (const [tag, env] of [
    ['badman', 'BAD=manifest'],
    ['badcfg', 'BAD=config'],
  ]) {
    run('umoci', ['config', '--image', `${layout}:amd`, '--tag', tag, '--config.env', env]);
  }
  addIndex('multi', [
    ['amd', { os: 'linux', architecture: 'amd64' }],
    ['arm', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
  ]);
  for (const tag of ['amd', 'arm'])
    ids[tag] = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`])).config.digest;
  reg = await startRegistry(path.join(t.dir, 'reg'));
  push(`oci:${layout}:multi`, `${reg.host}/fmt/list:1`, ['--all', '--format', 'v2s2']);
  push(`oci:${layout}:arm`, `${reg.host}/fmt/armonly:1`);
}, 120_000);

afterAll(async () => {
  if (reg) await stopRegistry(reg);
  t.cleanup();
});

describe('formats', () => {
  it('a Docker manifest list: box pull takes this machine platform by default and --platform linux/arm64 the arm64 image', async () => {
    expect(rawManifest(`${reg.host}/fmt/list:1`).mediaType).toBe(
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    const root = newRoot();
    const arm = await box(root, ['pull', '-q', '--platform', 'linux/arm64', `${reg.host}/fmt/list:1`]);
    expect(arm.stderr).toBe('');
    // skopeo rewrote the config as v2s2: same content, so the same digest as in the layout.
    expect(arm.stdout.trim()).toBe(ids.arm);
    const host = await box(root, ['pull', '-q', `${reg.host}/fmt/list:1`]);
    expect(host.stdout.trim()).toBe(ids.amd);
    const ran = spawnSync(BOX, ['--root', root, 'run', '--rm', `${reg.host}/fmt/list:1`], { encoding: 'utf8' });
    expect(ran.stdout).toBe('amd64\n');
  });

  it('a single-platform image that does not match --platform is refused, and nothing is stored', async () => {
    const root = newRoot();
    const r = await box(root, ['pull', '--platform', 'linux/amd64', `${reg.host}/fmt/armonly:1`]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      `box: ${reg.host}/fmt/armonly:1: the image is for linux/arm64, not linux/amd64 as --platform asks (it is not a multi-platform image)\n`,
    );
    expect(storeSnapshot(root).filter((l) => !l.startsWith('run'))).toEqual([]);
    const ok = await box(root, ['pull', '-q', '--platform', 'linux/arm64', `${reg.host}/fmt/armonly:1`]);
    expect(ok.stdout.trim()).toBe(ids.arm);
  });

  it('an OCI layout written by box save, pushed by skopeo (gzip) and as it is (uncompressed layers), pulls back as the same image', async () => {
    const src = newRoot();
    const imported = spawnSync(
      BOX,
      ['--root', src, 'import', busyboxTarball(t.dir), 'saved:1', '--change', 'CMD ["echo", "round trip"]'],
      { encoding: 'utf8' },
    );
    const id = imported.stdout.trim();
    const archive = path.join(t.dir, 'saved.tar');
    expect(spawnSync(BOX, ['--root', src, 'save', '-o', archive, 'saved:1']).status).toBe(0);
    const dir = path.join(t.dir, 'saved-layout');
    fs.mkdirSync(dir);
    run('tar', ['-C', dir, '-xf', archive]);
    // skopeo always compresses layers for a registry; the layout's own manifest keeps them plain.
    push(`oci:${dir}:1`, `${reg.host}/fmt/saved-gzip:1`);
    const savedManifest = fs.readFileSync(
      path.join(
        dir,
        'blobs/sha256',
        JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).manifests[0].digest.slice(7),
      ),
    );
    expect(JSON.parse(savedManifest.toString()).layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar',
    ]);
    await uploadLayout(dir, savedManifest, 'fmt/saved', '1');
    const inspect = (r: string, ref: string) =>
      JSON.parse(spawnSync(BOX, ['--root', r, 'image', 'inspect', ref], { encoding: 'utf8' }).stdout)[0];
    for (const repo of ['fmt/saved-gzip', 'fmt/saved']) {
      const root = newRoot();
      const pulled = await box(root, ['pull', '-q', `${reg.host}/${repo}:1`]);
      expect(pulled.stderr).toBe('');
      expect(pulled.stdout.trim()).toBe(id);
      expect(inspect(root, id).RootFS).toEqual(inspect(src, id).RootFS);
      expect(
        spawnSync(BOX, ['--root', root, 'run', '--rm', `${reg.host}/${repo}:1`], { encoding: 'utf8' }).stdout,
      ).toBe('round trip\n');
      if (repo === 'fmt/saved')
        expect(inspect(root, id).RepoDigests).toEqual([`${reg.host}/fmt/saved@${sha(savedManifest)}`]);
    }
  });

  it('a zstd layer this runtime cannot decompress is a one-line error naming zstd; the store is as before', async () => {
    // Recompressed into a layout first: pushed directly, skopeo would reuse the registry's gzip blobs.
    const zdir = path.join(t.dir, 'zstd-layout');
    run('skopeo', ['copy', '--quiet', '--dest-compress-format', 'zstd', `oci:${layout}:amd`, `oci:${zdir}:1`]);
    push(`oci:${zdir}:1`, `${reg.host}/fmt/zstd:1`);
    expect(rawManifest(`${reg.host}/fmt/zstd:1`).layers[0].mediaType).toBe(
      'application/vnd.oci.image.layer.v1.tar+zstd',
    );
    const root = newRoot();
    expect((await box(root, ['pull', '-q', `${reg.host}/fmt/armonly:1`, '--platform', 'linux/arm64'])).code).toBe(0);
    const before = storeSnapshot(root);
    const r = await box(root, ['pull', `${reg.host}/fmt/zstd:1`]);
    const zstdInNode = typeof (require('node:zlib') as Record<string, unknown>).createZstdDecompress === 'function';
    if (zstdInNode) {
      expect(r.code).toBe(0);
      return;
    }
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      new RegExp(
        `^box: ${reg.host}/fmt/zstd:1: layer [0-9a-f]{12} is zstd-compressed, which this box cannot decompress .*gzip.*\\n$`,
      ),
    );
    expect(storeSnapshot(root)).toEqual(before);
  });

  it('a manifest or a config whose content does not match its digest is refused; the store is as before', async () => {
    push(`oci:${layout}:badman`, `${reg.host}/fmt/badman:1`);
    push(`oci:${layout}:badcfg`, `${reg.host}/fmt/badcfg:1`);
    const manifestBytes = run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/fmt/badman:1`,
    ]);
    const manifestDigest = sha(manifestBytes);
    // Still valid JSON, other bytes: the registry serves it under the old digest.
    fs.appendFileSync(blobFile(manifestDigest), '\n');
    const cfg = rawManifest(`${reg.host}/fmt/badcfg:1`).config.digest as string;
    const cfgBytes = fs.readFileSync(blobFile(cfg), 'utf8');
    fs.writeFileSync(blobFile(cfg), cfgBytes.replace('BAD=config', 'BAD=CONFIG'));
    const root = newRoot();
    const byTag = await box(root, ['pull', `${reg.host}/fmt/badman:1`]);
    expect(byTag.code).toBe(125);
    expect(byTag.stderr).toMatch(
      new RegExp(
        `^box: ${reg.host}/fmt/badman:1: the manifest's digest sha256:[0-9a-f]{64} differs from the one the registry announces \\(${manifestDigest}\\)\\n$`,
      ),
    );
    const byDigest = await box(root, ['pull', `${reg.host}/fmt/badman@${manifestDigest}`]);
    expect(byDigest.code).toBe(125);
    expect(byDigest.stderr).toMatch(
      new RegExp(
        `^box: ${reg.host}/fmt/badman@${manifestDigest}: the registry sent a manifest with digest sha256:[0-9a-f]{64} for ${manifestDigest}\\n$`,
      ),
    );
    const badConfig = await box(root, ['pull', `${reg.host}/fmt/badcfg:1`]);
    expect(badConfig.code).toBe(125);
    expect(badConfig.stderr).toMatch(
      new RegExp(
        `^box: ${reg.host}/fmt/badcfg:1: config ${cfg} failed verification: its content has digest sha256:[0-9a-f]{64}\\n$`,
      ),
    );
    expect(storeSnapshot(root).filter((l) => !l.startsWith('run'))).toEqual([]);
  });
});

describe('TLS with a self-signed certificate', () => {
  let tlsReg: Registry;
  let cert: string;
  beforeAll(async () => {
    const dir = path.join(t.dir, 'tls');
    fs.mkdirSync(dir);
    cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    tlsReg = await startRegistry(path.join(dir, 'reg'), '', { cert, key });
    push(`oci:${layout}:amd`, `${tlsReg.host}/tls/img:1`);
  });
  afterAll(async () => {
    if (tlsReg) await stopRegistry(tlsReg);
  });

  it('box pull refuses the certificate by default (no fall back to http) and pulls with --tls-verify=false', async () => {
    const root = newRoot();
    const ref = `${tlsReg.host}/tls/img:1`;
    const refused = await box(root, ['pull', ref]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toBe(
      `box: the registry ${tlsReg.host} presented a certificate that cannot be verified (self-signed certificate): trust its CA, or use --tls-verify=false\n`,
    );
    expect(storeSnapshot(root).filter((l) => !l.startsWith('run'))).toEqual([]);
    const pulled = await box(root, ['pull', '-q', '--tls-verify=false', ref]);
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout.trim()).toBe(ids.amd);
  });

  it('box pull trusts the CA that NODE_EXTRA_CA_CERTS names, read when box connects, not at every start', async () => {
    const ref = `${tlsReg.host}/tls/img:1`;
    const pulled = await box(newRoot(), ['pull', '-q', ref], { ...process.env, NODE_EXTRA_CA_CERTS: cert });
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout.trim()).toBe(ids.amd);
    // a file that cannot be read: node itself would warn at the start of every command
    const missing = { ...process.env, NODE_EXTRA_CA_CERTS: path.join(t.dir, 'no-such-ca.pem') };
    const version = await box(newRoot(), ['version'], missing);
    expect(version.stderr).toBe('');
    expect(version.code).toBe(0);
    const refused = await box(newRoot(), ['pull', ref], missing);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(
      new RegExp(
        String.raw`^box: warning: ignoring extra certs from \S+no-such-ca\.pem \(NODE_EXTRA_CA_CERTS\): .*\n` +
          String.raw`box: the registry \S+ presented a certificate that cannot be verified`,
      ),
    );
  });

  it('box run and box create pass --tls-verify to the pull they start', async () => {
    const ref = `${tlsReg.host}/tls/img:1`;
    const root = newRoot();
    const refused = await box(root, ['run', '--rm', ref]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/certificate that cannot be verified/);
    const ran = await box(root, ['run', '--rm', '--tls-verify=false', ref]);
    expect(ran.stdout).toBe('amd64\n');
    const created = await box(newRoot(), ['create', '--tls-verify=false', ref]);
    expect(created.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await box(root, ['run', '--tls-verify=maybe', ref])).stderr).toBe(
      'box: invalid value "maybe" for --tls-verify: use true or false\n',
    );
  });
});

describe('progress', () => {
  // Blobs larger than 64 KiB trickle through in 64 KiB steps every 40 ms, so downloads last long
  // enough for the progress bars (and their speed) to be drawn.
  let proxy: http.Server;
  let slowHost: string;
  beforeAll(async () => {
    proxy = http.createServer((req, res) => {
      const up = http.request(
        { host: '127.0.0.1', port: reg.port, path: req.url, method: req.method, headers: req.headers },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          if (
            !(
              req.method === 'GET' &&
              /\/blobs\/sha256:/.test(req.url ?? '') &&
              Number(ur.headers['content-length']) > 65536
            )
          )
            return ur.pipe(res);
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            const body = Buffer.concat(chunks);
            let off = 0;
            const step = () => {
              res.write(body.subarray(off, off + 65536));
              off += 65536;
              if (off < body.length) setTimeout(step, 40);
              else res.end();
            };
            step();
          });
        },
      );
      up.on('error', () => res.socket?.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    slowHost = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    push(`oci:${layout}:amd`, `${reg.host}/fmt/amd:1`);
  });
  afterAll(async () => {
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  });

  const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
  const onTerminal = async (args: string[]) => {
    const r = await exitOf(
      spawn('python3', [driver, '--cols', '120', '--timeout', '60', '--', BOX, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { output: string; status: number };
  };
  const layerDigests = () =>
    (rawManifest(`${reg.host}/fmt/amd:1`).layers as { digest: string }[]).map((l) => l.digest.slice(7, 19));

  it('on a terminal: one line per layer, redrawn with bytes, total and speed, then a summary', async () => {
    const out = await onTerminal(['--root', newRoot(), 'pull', `${slowHost}/fmt/amd:1`]);
    expect(out.status).toBe(0);
    const layers = layerDigests();
    expect(layers).toHaveLength(2);
    // Lines are redrawn in place: after moving the cursor up, each line is cleared and written again.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what is checked
    const lines = out.output.split(/\r?\n/).map((l) => l.replace(/\x1b\[\d+A/g, '').replace(/^\r?\x1b\[2K/, ''));
    const big = lines.filter((l) => l.startsWith(`${layers[1]}: Downloading [`));
    expect(big.length).toBeGreaterThan(1);
    expect(big.some((l) => /\] [\d.]+[kM]B\/[\d.]+MB [\d.]+[kM]B\/s$/.test(l))).toBe(true);
    // The last frame: the header and one line per layer, all complete; then the summary.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what is checked
    const frames = out.output.split(/\x1b\[\d+A/);
    const last = frames[frames.length - 1]
      .split(/\r?\n/)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what is checked
      .map((l) => l.replace(/^\r?\x1b\[2K/, ''))
      .filter(Boolean);
    expect(last).toEqual([
      `Pulling ${slowHost}/fmt/amd:1 (linux/amd64)`,
      `${layers[0]}: Pull complete`,
      `${layers[1]}: Pull complete`,
      expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
      `Status: image ${ids.amd.slice(7, 19)} for ${slowHost}/fmt/amd:1`,
    ]);
  });

  it('not on a terminal: plain lines, one per event; -q (on a terminal too) prints only the id', async () => {
    const root = newRoot();
    const plain = await box(root, ['pull', `${slowHost}/fmt/amd:1`]);
    const layers = layerDigests();
    expect(plain.stderr).toBe('');
    const lines = plain.stdout.trim().split('\n');
    expect(lines[0]).toBe(`Pulling ${slowHost}/fmt/amd:1 (linux/amd64, 2 layers)`);
    expect(lines.filter((l) => /^[0-9a-f]{12}: Downloading [\d.]+k?M?B$/.test(l))).toHaveLength(2);
    for (const l of layers) expect(lines).toContain(`${l}: Pull complete`);
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
      `Status: image ${ids.amd.slice(7, 19)} for ${slowHost}/fmt/amd:1`,
    ]);
    expect(plain.stdout).not.toContain('\x1b');
    const quiet = await onTerminal(['--root', newRoot(), 'pull', '-q', `${slowHost}/fmt/amd:1`]);
    expect(quiet.output).toBe(`${ids.amd}\r\n`);
  });
});
