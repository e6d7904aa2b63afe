// box load of what skopeo writes: docker-archive and OCI layout tarballs (oci-archive), from a
// layout umoci built; ids compared with skopeo's, images run; corrupt archives leave nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageStore } from '../../src/image/store';
import { BOX, busyboxTarball, TestRoot } from '../support/box';
import { helloLayout, run } from '../support/registry';

const t = new TestRoot('box-load-');
const store = () => new ImageStore({ root: t.root, runroot: path.join(t.root, 'run') });
let layout: string;
let configDigest: string;

beforeAll(() => {
  layout = helloLayout(t.dir, busyboxTarball(t.dir), 'loaded\n');
  configDigest = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:v1`])).config.digest;
});

afterAll(() => t.cleanup());

const box = (args: string[], input?: Buffer) => {
  const r = spawnSync(BOX, t.args(args), { encoding: 'utf8', input, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('box load', () => {
  it('loads a docker-archive written by skopeo, tagged as it says; the image runs', () => {
    const file = path.join(t.dir, 'docker.tar');
    run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${file}:load/img:1`]);
    const r = box(['load', '-i', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Loaded image: load/img:1\n');
    expect(store().resolve('load/img:1')).toBe(configDigest);
    const ran = box(['run', '--rm', 'load/img:1']);
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe('loaded\n');
    // The deletion of the second layer is applied.
    expect(box(['run', '--rm', 'load/img:1', '/bin/busybox', 'ls', '/bin/not-executable']).status).not.toBe(0);
  });

  it('loads an OCI archive from standard input; a full reference in ref.name becomes the tag, a bare one does not', () => {
    const named = path.join(t.dir, 'named.tar');
    run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${named}:load/oci:2`]);
    const r = box(['load'], fs.readFileSync(named));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Loaded image: load/oci:2\n');
    expect(store().resolve('load/oci:2')).toBe(configDigest);
    const bare = path.join(t.dir, 'bare.tar');
    run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${bare}:v9`]);
    expect(box(['load', '-i', bare]).stdout).toBe(`Loaded image ID: ${configDigest}\n`);
    expect(box(['run', '--rm', 'load/oci:2']).stdout).toBe('loaded\n');
  });

  it('a corrupt layer or a foreign archive is an error and leaves the store as it was', () => {
    const file = path.join(t.dir, 'docker.tar');
    const x = path.join(t.dir, 'x');
    fs.mkdirSync(x);
    run('tar', ['-C', x, '-xf', file]);
    const manifest = JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8'));
    // Another layer content under the same diff_id: the config does not match it.
    const top = path.join(x, manifest[0].Layers[1]);
    fs.writeFileSync(top, Buffer.concat([fs.readFileSync(top).subarray(0, 1024), Buffer.alloc(1024)]));
    manifest[0].RepoTags = ['bad:1'];
    fs.writeFileSync(path.join(x, 'manifest.json'), JSON.stringify(manifest));
    const fresh = new TestRoot('box-load2-');
    try {
      const bad = path.join(t.dir, 'bad.tar');
      run('tar', ['-C', x, '-cf', bad, '.']);
      const r = spawnSync(BOX, fresh.args(['load', '-i', bad]), { encoding: 'utf8' });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/load: layer [0-9a-f]{12}.*failed verification/);
      expect(new ImageStore({ root: fresh.root, runroot: path.join(fresh.root, 'run') }).list()).toEqual([]);
      expect(fs.existsSync(path.join(fresh.root, 'tmp'))).toBe(false); // the work directory and its parent are gone
      const foreign = path.join(t.dir, 'foreign.tar');
      run('tar', ['-C', t.dir, '-cf', foreign, 'bundle/config.json']);
      const f = spawnSync(BOX, fresh.args(['load', '-i', foreign]), { encoding: 'utf8' });
      expect(f.stderr).toMatch(/neither a docker-archive .* nor an OCI image layout/);
      expect(spawnSync(BOX, fresh.args(['load', '-i', '/nonexistent']), { encoding: 'utf8' }).stderr).toBe(
        'box: load: no such file: /nonexistent\n',
      );
    } finally {
      fresh.cleanup();
    }
  });

  it('a malformed manifest.json, OCI index, manifest or config is a one-line error and leaves nothing', () => {
    const sha = (b: string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
    /** An archive of these files (name -> content), loaded into an empty root. */
    const load = (files: Record<string, string>) => {
      const dir = fs.mkdtempSync(path.join(t.dir, 'malformed-'));
      for (const [name, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), content);
      }
      const archive = `${dir}.tar`;
      run('tar', ['-C', dir, '-cf', archive, '.']);
      const fresh = new TestRoot('box-load3-');
      try {
        const r = spawnSync(BOX, fresh.args(['load', '-i', archive]), { encoding: 'utf8', timeout: 60_000 });
        expect(r.status, r.stderr).toBe(125);
        expect(fs.existsSync(path.join(fresh.root, 'tmp'))).toBe(false);
        expect(new ImageStore({ root: fresh.root, runroot: path.join(fresh.root, 'run') }).list()).toEqual([]);
        return r.stderr;
      } finally {
        fresh.cleanup();
      }
    };
    // docker-archive: manifest.json, then the config it names.
    const docker = (manifest: string, config = '{}') => load({ 'manifest.json': manifest, 'c.json': config });
    const entry = (problem: string) =>
      `box: load: manifest.json ${problem}: the archive is damaged or not a docker-archive\n`;
    expect(docker('[null]')).toBe(entry('entry 1 is not an object'));
    expect(docker('null')).toBe(entry('is not a list of images'));
    expect(docker('{"Config":"c.json"}')).toBe(entry('is not a list of images'));
    expect(docker('[{"Layers":[]}]')).toBe(entry('entry 1: "Config" is not a file name'));
    expect(docker('[{"Config":"c.json","Layers":"l.tar"}]')).toBe(
      entry('entry 1: "Layers" is not a list of file names'),
    );
    expect(docker('[{"Config":"c.json","Layers":[],"RepoTags":[7]}]')).toBe(
      entry('entry 1: "RepoTags" is not a list of tags'),
    );
    const noLayers = '[{"Config":"c.json","Layers":[]}]';
    const config = (c: string, problem: string) => `box: load: image ${sha(c)}: the image config ${problem}\n`;
    expect(docker(noLayers)).toBe(config('{}', 'has no rootfs.diff_ids list'));
    expect(docker(noLayers, 'null')).toBe(config('null', 'is not a JSON object'));
    const envNotList = '{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":"PATH=/bin"}}';
    expect(docker(noLayers, envNotList)).toBe(config(envNotList, 'field "config.Env" has the wrong type'));

    /** An OCI layout whose index points at `manifest`, whose config is `config`. */
    const oci = (index: string | ((manifest: string) => string), manifest = '{}', config = '{}') => {
      const files: Record<string, string> = { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' };
      for (const b of [manifest, config]) files[`blobs/sha256/${sha(b).slice(7)}`] = b;
      files['index.json'] = typeof index === 'string' ? index : index(manifest);
      return load(files);
    };
    const MT = 'application/vnd.oci.image.manifest.v1+json';
    const descriptor = (b: string) => ({ mediaType: MT, digest: sha(b), size: b.length });
    const pointTo = (m: string) => JSON.stringify({ schemaVersion: 2, manifests: [descriptor(m)] });
    const manifest = (c: string, layers: unknown) =>
      JSON.stringify({ schemaVersion: 2, mediaType: MT, config: descriptor(c), layers });
    expect(oci('null')).toBe('box: load: index.json: the manifest is not a JSON object\n');
    expect(oci('[1]')).toBe('box: load: index.json: the manifest is not a JSON object\n');
    expect(oci('{"manifests":5}')).toBe('box: load: index.json: the image index has no manifests\n');
    expect(oci('{"manifests":[null]}')).toBe(
      'box: load: index.json: a descriptor in the manifest lacks its mediaType, digest or size\n',
    );
    expect(oci(pointTo, 'null')).toBe(`box: load: ${sha('null')}: the manifest is not a JSON object\n`);
    expect(oci(pointTo, manifest('{}', 'l'))).toMatch(
      /^box: load: sha256:[0-9a-f]{64}: unsupported manifest \(media type/,
    );
    expect(oci(pointTo, manifest('[]', []), '[]')).toBe(config('[]', 'is not a JSON object'));
  });
});
