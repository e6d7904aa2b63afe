// box save: the archive is an OCI layout (skopeo's oci-archive, umoci) and a docker-archive
// (skopeo's docker-archive) at once; its layers are the exact tars of the image (digests equal
// the config's diff_ids), so box load into a fresh root gives the same image id, and it runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BOX, busyboxTarball, REPO, TestRoot } from '../support/box';
import { helloLayout, run } from '../support/registry';

const t = new TestRoot('box-save-');
let layout: string;
let imageId: string;
let diffIds: string[];

const box = (root: TestRoot, args: string[]) => {
  const r = spawnSync(BOX, root.args(args), { timeout: 60_000, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
};
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  // Two layers from umoci: busybox; then a new file, a deletion (a whiteout) and a hardlink.
  layout = helloLayout(t.dir, busyboxTarball(t.dir), 'saved and loaded\n', (rootfs) =>
    fs.linkSync(path.join(rootfs, 'hello'), path.join(rootfs, 'hello-again')),
  );
  const archive = path.join(t.dir, 'in.tar');
  run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${archive}:save/img:1`]);
  const loaded = box(t, ['load', '-i', archive]);
  expect(loaded.stderr).toBe('');
  imageId = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${layout}:v1`])).config.digest;
  diffIds = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:v1`])).rootfs.diff_ids;
  expect(diffIds).toHaveLength(2);
});

afterAll(() => t.cleanup());

describe('box save', () => {
  let saved: string;

  it('writes an OCI layout that skopeo (oci-archive) and umoci read, with the layers as the config lists them', () => {
    saved = path.join(t.dir, 'saved.tar');
    const r = box(t, ['save', '-o', saved, 'save/img:1']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `oci-archive:${saved}`]));
    expect(raw.config.digest).toBe(imageId);
    expect(raw.layers.map((l: { digest: string }) => l.digest)).toEqual(diffIds);
    expect(JSON.parse(run('skopeo', ['inspect', '--config', `oci-archive:${saved}:1`])).rootfs.diff_ids).toEqual(
      diffIds,
    );

    // Every blob is named by its digest.
    const dir = path.join(t.dir, 'saved-layout');
    fs.mkdirSync(dir);
    run('tar', ['-C', dir, '-xf', saved]);
    const blobs = fs.readdirSync(path.join(dir, 'blobs/sha256'));
    expect(blobs.length).toBe(4); // config, manifest, two layers
    for (const b of blobs) expect(sha(fs.readFileSync(path.join(dir, 'blobs/sha256', b)))).toBe(`sha256:${b}`);

    expect(run('umoci', ['ls', '--layout', dir]).trim()).toBe('1');
    const bundle = path.join(t.dir, 'umoci-bundle');
    run('umoci', ['unpack', '--image', `${dir}:1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readFileSync(path.join(rootfs, 'hello'), 'utf8')).toBe('saved and loaded\n');
    expect(fs.statSync(path.join(rootfs, 'hello')).ino).toBe(fs.statSync(path.join(rootfs, 'hello-again')).ino);
    expect(fs.existsSync(path.join(rootfs, 'bin/not-executable'))).toBe(false); // the whiteout applied
    expect(fs.existsSync(path.join(rootfs, 'bin/busybox'))).toBe(true);
  });

  it('is a docker-archive too (manifest.json, repositories)', () => {
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `docker-archive:${saved}`]));
    expect(raw.config.digest).toBe(imageId);
    expect(
      JSON.parse(run('skopeo', ['inspect', '--config', `docker-archive:${saved}:save/img:1`])).rootfs.diff_ids,
    ).toEqual(diffIds);
    const dir = path.join(t.dir, 'saved-layout');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual([
      {
        Config: `blobs/sha256/${imageId.slice(7)}`,
        RepoTags: ['save/img:1'],
        Layers: diffIds.map((d) => `blobs/sha256/${d.slice(7)}`),
      },
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'repositories'), 'utf8'))).toEqual({
      'save/img': { '1': diffIds[1].slice(7) },
    });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'docker.io/save/img:1',
      'org.opencontainers.image.ref.name': '1',
    });
  });

  it('box load of the saved archive into a fresh root gives the same image id, and it runs', () => {
    const fresh = new TestRoot('box-save2-');
    try {
      const r = box(fresh, ['load', '-i', saved]);
      expect(r.stderr).toBe('');
      expect(r.stdout.toString()).toBe('Loaded image: save/img:1\n');
      const inspect = JSON.parse(box(fresh, ['image', 'inspect', 'save/img:1']).stdout.toString());
      expect(inspect[0].Id).toBe(imageId);
      expect(inspect[0].RootFS.Layers).toEqual(diffIds);
      const ran = box(fresh, ['run', '--rm', 'save/img:1']);
      expect(ran.stderr).toBe('');
      expect(ran.stdout.toString()).toBe('saved and loaded\n');
      // And saving it again from there gives the same bytes.
      const again = path.join(fresh.dir, 'again.tar');
      expect(box(fresh, ['save', '-o', again, 'save/img:1']).status).toBe(0);
      expect(fs.readFileSync(again).equals(fs.readFileSync(saved))).toBe(true);
    } finally {
      fresh.cleanup();
    }
  });

  it('saves several images and tags in one archive, to standard output when it is not a terminal', () => {
    expect(box(t, ['tag', 'save/img:1', 'other/name:2']).status).toBe(0);
    const imp = box(t, ['import', busyboxTarball(t.dir), 'plain:1']);
    expect(imp.status).toBe(0);
    const plainId = imp.stdout.toString().trim();
    const r = box(t, ['save', 'save/img:1', 'other/name:2', plainId]);
    expect(r.stderr).toBe('');
    const file = path.join(t.dir, 'multi.tar');
    fs.writeFileSync(file, r.stdout);
    const dir = path.join(t.dir, 'multi');
    fs.mkdirSync(dir);
    run('tar', ['-C', dir, '-xf', file]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.map((m: { RepoTags: string[] | null }) => m.RepoTags)).toEqual([
      ['save/img:1', 'other/name:2'],
      null,
    ]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    expect(
      index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.['io.containerd.image.name']),
    ).toEqual(['docker.io/save/img:1', 'docker.io/other/name:2', undefined]);
    expect(JSON.parse(run('skopeo', ['inspect', '--raw', `docker-archive:${file}:other/name:2`])).config.digest).toBe(
      imageId,
    );
    const fresh = new TestRoot('box-save3-');
    try {
      const l = box(fresh, ['load', '-i', file]);
      expect(l.stderr).toBe('');
      expect(l.stdout.toString()).toBe(
        `Loaded image: save/img:1\nLoaded image: other/name:2\nLoaded image ID: ${plainId}\n`,
      );
    } finally {
      fresh.cleanup();
    }
  });

  it('an unknown image, or a layer it cannot reproduce, is an error that leaves no file', () => {
    const out = path.join(t.dir, 'errors');
    fs.mkdirSync(out);
    const r = box(t, ['save', '-o', path.join(out, 'x.tar'), 'save/img:1', 'nope:1']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('box: save: no such image: nope:1\n');
    // A layer stored before box kept tar metadata: named, with what to do.
    const layers = path.join(t.root, 'layers');
    const split = path.join(layers, diffIds[1].slice(7), 'tar-split.gz');
    fs.renameSync(split, split + '.away');
    try {
      const s = box(t, ['save', '-o', path.join(out, 'x.tar'), 'save/img:1']);
      expect(s.status).toBe(125);
      expect(s.stderr).toBe(
        `box: save: layer ${diffIds[1].slice(7, 19)} of save/img:1 was stored by an older box without its tar metadata: pull or load the image again\n`,
      );
    } finally {
      fs.renameSync(split + '.away', split);
    }
    // A layer whose files changed under the store: found while writing, and the file is not kept.
    const hello = path.join(layers, diffIds[1].slice(7), 'diff/hello');
    const original = fs.readFileSync(hello);
    fs.writeFileSync(hello, 'SAVED AND LOADED\n');
    try {
      const s = box(t, ['save', '-o', path.join(out, 'x.tar'), 'save/img:1']);
      expect(s.status).toBe(125);
      expect(s.stderr).toMatch(
        /save: layer [0-9a-f]{12}: the reassembled layer has digest sha256:[0-9a-f]{64}, not its diff_id/,
      );
    } finally {
      fs.writeFileSync(hello, original);
    }
    expect(fs.readdirSync(out)).toEqual([]);
    expect(box(t, ['save']).stderr).toBe('box: "box save" needs at least one IMAGE (see \'box save --help\')\n');
  });

  it('-o naming a device node is refused (a rename would replace it, as /dev/null); a link gets its file written', () => {
    // a null device of the test's own, not the host's /dev/null, which the rename replaced before
    const dir = path.join(t.dir, 'outputs');
    fs.mkdirSync(dir);
    const node = path.join(dir, 'null');
    expect(spawnSync('mknod', ['-m', '666', node, 'c', '1', '3']).status).toBe(0);
    for (const args of [
      ['save', '-o', node, 'save/img:1'],
      ['build', '--iidfile', node, dir],
    ]) {
      const r = box(t, args);
      const what = args[0] === 'save' ? 'save: -o' : '--iidfile';
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({
        args,
        status: 125,
        stderr: `box: ${what} ${node} is a device, not a regular file: give a file name (box replaces it whole)\n`,
      });
      const st = fs.lstatSync(node);
      expect([st.isCharacterDevice(), st.rdev]).toEqual([true, 0x0103]);
    }
    // a link to a file: the file gets the archive, the link stays
    const file = path.join(dir, 'real.tar');
    fs.writeFileSync(file, '');
    fs.symlinkSync(file, path.join(dir, 'link.tar'));
    expect(box(t, ['save', '-o', path.join(dir, 'link.tar'), 'save/img:1']).status).toBe(0);
    expect(fs.lstatSync(path.join(dir, 'link.tar')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['link.tar', 'null', 'real.tar']);
  });

  it('refuses to write an archive to a terminal', () => {
    const driver = path.join(REPO, 'test', 'support', 'pty-driver.py');
    const r = spawnSync('python3', [driver, '--', BOX, ...t.args(['save', 'save/img:1'])], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const out = JSON.parse(r.stdout) as { output: string; status: number };
    expect(out.status).toBe(125);
    expect(out.output).toBe(
      'box: save: cowardly refusing to write an archive to a terminal: use -o FILE or redirect the output\r\n',
    );
  });
});
