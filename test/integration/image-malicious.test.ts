// Malicious layers end to end: OCI layouts written here with a `../` path, a write through a
// symlink pointing out of the layer, a hardlink to a host file and PAX numbers out of range,
// pushed to Debian's docker-registry with skopeo and pulled with box pull, given to box load as an
// oci-archive, and (the layer alone) to box import. Each is refused with an error naming the
// entry, nothing is written outside the layer, and the store is exactly as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BOX, exitOf, importBusybox, storeSnapshot, TestRoot } from '../support/box';
import { Registry, run, startRegistry, stopRegistry } from '../support/registry';
import { HandEntry, makeTar } from '../support/tar';

const t = new TestRoot('box-malicious-');
let reg: Registry;
/** A host path the layers aim at; it must never appear. */
let target: string;

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const box = (args: string[]) => exitOf(spawn(BOX, t.args(args), { stdio: ['ignore', 'pipe', 'pipe'] }));

/**
 * An OCI image layout in dir: one image of one gzip layer per entry list, named by `names`
 * (containerd's annotation) or tag "1", each with `runtime` as its config's "config".
 */
function writeLayout(
  dir: string,
  images: HandEntry[][],
  names: string[] = [],
  runtime: unknown = { Cmd: ['sh'] },
): void {
  fs.mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifests = images.map((entries, i) => {
    const tar = makeTar(entries);
    const gz = zlib.gzipSync(tar);
    const rootfs = { type: 'layers', diff_ids: [sha(tar)] };
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: runtime, rootfs }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(gz), size: gz.length }],
      }),
    );
    for (const b of [gz, config, manifest]) fs.writeFileSync(path.join(dir, 'blobs/sha256', sha(b).slice(7)), b);
    const annotations: Record<string, string> = names[i]
      ? { 'io.containerd.image.name': names[i], 'org.opencontainers.image.ref.name': names[i].split(':')[1] }
      : { 'org.opencontainers.image.ref.name': '1' };
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(manifest),
      size: manifest.length,
      annotations,
    };
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

const cases: { name: string; entries: () => HandEntry[]; error: (entry: string) => RegExp }[] = [
  {
    name: 'a ../ path',
    entries: () => [
      { path: 'ok', data: 'fine' },
      { path: `../../../../../../..${target}`, data: 'escaped' },
    ],
    error: () => /refused tar entry "\.\.\/.*": the path contains "\.\." and would leave the layer directory/,
  },
  {
    name: 'a write through a symlink to outside',
    entries: () => [
      { path: 'escape', type: 'symlink', linkpath: path.dirname(target) },
      { path: `escape/${path.basename(target)}`, data: 'escaped' },
    ],
    error: () =>
      new RegExp(
        `refused tar entry "escape/${path.basename(target)}": "escape" is a symlink in this layer and is not followed`,
      ),
  },
  {
    name: 'a hardlink to a host file',
    entries: () => [{ path: 'passwd', type: 'hardlink', linkpath: '/etc/passwd' }],
    error: () =>
      /refused tar entry "passwd": its hardlink target "\/etc\/passwd" is not an earlier entry of this layer/,
  },
  {
    name: 'a PAX size of 1e23',
    entries: () => [
      { path: 'ok', data: 'fine' },
      { path: 'huge', data: 'x', pax: { size: '1e23' } },
    ],
    error: () => /invalid tar entry "huge": PAX size="1e23" is not a whole number from 0 to 9007199254740991/,
  },
  {
    name: 'a PAX uid of 2^32',
    entries: () => [{ path: 'owned', data: 'x', pax: { uid: '4294967296' } }],
    error: () => /invalid tar entry "owned": PAX uid="4294967296" is not a whole number from 0 to 4294967294/,
  },
  {
    name: 'a garbage PAX mtime',
    entries: () => [{ path: 'dated', data: 'x', pax: { mtime: 'tomorrow' } }],
    error: () => /invalid tar entry "dated": PAX mtime="tomorrow" is not a time in seconds within 2\^53/,
  },
];

beforeAll(async () => {
  target = path.join(t.dir, 'outside', 'pwned');
  fs.mkdirSync(path.dirname(target));
  importBusybox(t); // the store is not empty: "as before" is checked against something
  reg = await startRegistry(path.join(t.dir, 'reg'));
  for (const [i, c] of cases.entries()) {
    const dir = path.join(t.dir, `layout-${i}`);
    writeLayout(dir, [c.entries()]);
    run('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${dir}:1`,
      `docker://${reg.host}/evil/case${i}:1`,
    ]);
    run('tar', ['-C', dir, '-cf', path.join(t.dir, `case${i}.tar`), '.']);
  }
}, 120_000);

afterAll(async () => {
  if (reg) await stopRegistry(reg);
  t.cleanup();
});

describe('malicious layers', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))(
    '%s: box pull refuses it naming the entry; the store is exactly as before',
    async (_name, i) => {
      const before = storeSnapshot(t.root);
      const r = await box(['pull', `${reg.host}/evil/case${i}:1`]);
      expect(r.code).toBe(125);
      expect(r.stderr.split('\n')).toHaveLength(2); // one line
      expect(r.stderr).toMatch(cases[i].error(''));
      expect(storeSnapshot(t.root)).toEqual(before);
      expect(fs.existsSync(target)).toBe(false);
      expect(fs.readFileSync('/etc/passwd', 'utf8')).not.toContain('escaped');
    },
  );

  it.each(cases.map((c, i) => [c.name, i] as const))(
    '%s: box load refuses it naming the entry; the store is exactly as before',
    async (_name, i) => {
      const before = storeSnapshot(t.root);
      const r = await box(['load', '-i', path.join(t.dir, `case${i}.tar`)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toMatch(cases[i].error(''));
      expect(storeSnapshot(t.root)).toEqual(before);
      expect(fs.existsSync(target)).toBe(false);
    },
  );

  it.each(cases.map((c, i) => [c.name, i] as const))(
    '%s: box import refuses it naming the entry; the store is as before',
    async (_name, i) => {
      const before = storeSnapshot(t.root);
      const layer = path.join(t.dir, `import-${i}.tar`);
      fs.writeFileSync(layer, makeTar(cases[i].entries()));
      const r = await box(['import', layer, `evil/import${i}:1`]);
      expect(r.code).toBe(125);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toMatch(cases[i].error(''));
      expect(storeSnapshot(t.root)).toEqual(before);
      expect(fs.existsSync(target)).toBe(false);
    },
  );

  it('an image config whose Env is no list: box pull and box load refuse it; the store is exactly as before', async () => {
    const before = storeSnapshot(t.root);
    const dir = path.join(t.dir, 'bad-config');
    writeLayout(dir, [[{ path: 'f', data: 'x' }]], [], { Env: 'PATH=/bin' });
    run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:1`, `docker://${reg.host}/evil/config:1`]);
    const pulled = await box(['pull', `${reg.host}/evil/config:1`]);
    expect(pulled.stderr).toBe(
      `box: ${reg.host}/evil/config:1: the image config field "config.Env" has the wrong type\n`,
    );
    expect(pulled.code).toBe(125);
    const archive = path.join(t.dir, 'bad-config.tar');
    run('tar', ['-C', dir, '-cf', archive, '.']);
    const loaded = await box(['load', '-i', archive]);
    expect(loaded.stderr).toMatch(
      /^box: load: image sha256:[0-9a-f]{64}: the image config field "config.Env" has the wrong type\n/,
    );
    expect(loaded.code).toBe(125);
    expect(storeSnapshot(t.root)).toEqual(before);
  });

  it('/dev/zero (an empty archive followed by zeros without end) is refused by import and load, not read forever', async () => {
    const before = storeSnapshot(t.root);
    for (const args of [
      ['import', '/dev/zero', 'evil/zero:1'],
      ['load', '-i', '/dev/zero'],
    ]) {
      const r = await box(args);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(
        `box: ${args[0]}: invalid tar archive: more than 1 MiB of data after the end-of-archive marker\n`,
      );
      expect(storeSnapshot(t.root)).toEqual(before);
    }
  });

  it('a load of several images registers and tags none of them when one is refused; prune removes what the good one left', async () => {
    const before = storeSnapshot(t.root);
    const dir = path.join(t.dir, 'several');
    writeLayout(dir, [[{ path: 'good', data: 'good' }], cases[0].entries()], ['good/img:1', 'evil/img:1']);
    const archive = path.join(t.dir, 'several.tar');
    run('tar', ['-C', dir, '-cf', archive, '.']);
    const r = await box(['load', '-i', archive]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(cases[0].error(''));
    const images = await box(['images', '--format', 'json']);
    expect(
      images.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).Repository),
    ).toEqual(['busybox']);
    expect((await box(['image', 'prune'])).code).toBe(0);
    expect(storeSnapshot(t.root)).toEqual(before);
    // The good image alone loads, tagged.
    const good = path.join(t.dir, 'good');
    writeLayout(good, [[{ path: 'good', data: 'good' }]], ['good/img:1']);
    run('tar', ['-C', good, '-cf', archive, '.']);
    const ok = await box(['load', '-i', archive]);
    expect(ok.stderr).toBe('');
    expect((await box(['images', '-q', 'good/img:1'])).stdout).toMatch(/^[0-9a-f]{12}\n$/);
  });
});
