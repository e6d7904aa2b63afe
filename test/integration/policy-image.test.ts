// What policies learn about the image, through the built binary: an image with labels, exposed
// ports and a volume, pushed by skopeo to a real registry on 127.0.0.1 (Debian's docker-registry)
// and pulled by box. A policy sees its normalised reference, manifest digest and configuration,
// the restart policy and the name box generates; strict refuses an image given by id that does
// not come from an allowed registry.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectOne, leftovers, TestRoot } from '../support/box';
import { component, FIXTURES } from '../support/policy-components';
import { busyboxLayout, Registry, run, startRegistry, stopRegistry } from '../support/registry';

describe('the image as policies see it', () => {
  const t = new TestRoot();
  let work: string;
  let reg: Registry;
  let ref: string;
  let imageId: string;
  let digest: string;
  let behaviours: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-policy-image-'));
    const layout = busyboxLayout(work, {
      applets: ['sh', 'true'],
      dirs: ['srv'],
      config: [
        '--config.env',
        'PATH=/bin',
        '--config.label',
        'org.example.team=blue',
        '--config.label',
        'tier=image',
        '--config.exposedports',
        '8080/tcp',
        '--config.volume',
        '/data',
        '--config.cmd',
        'true',
        '--config.workingdir',
        '/srv',
      ],
    });
    reg = await startRegistry(path.join(work, 'registry'));
    ref = `${reg.host}/test/app:v1`;
    run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref}`]);
    expect(t.box(['pull', ref]).status).toBe(0);
    const image = JSON.parse(t.box(['image', 'inspect', ref]).stdout)[0] as { Id: string; RepoDigests: string[] };
    imageId = image.Id;
    digest = image.RepoDigests[0].split('@')[1];
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    behaviours = path.join(t.dir, 'behaviours.wasm');
    fs.copyFileSync(await component(path.join(FIXTURES, 'behaviours.ts')), behaviours);
  }, 240_000);

  afterAll(async () => {
    try {
      expect(leftovers(t)).toEqual([]);
    } finally {
      if (reg) await stopRegistry(reg);
      t.cleanup();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('a policy sees the reference, digest and configuration of the image, the restart policy and the generated name', () => {
    const r = t.box([
      'run',
      '-d',
      '--policy',
      behaviours,
      '--label',
      'behaviour=show',
      '--label',
      'tier=web',
      '--restart',
      'on-failure:2',
      imageId.slice(7, 19),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const id = r.stdout.trim();
    try {
      const c = inspectOne<{
        Name: string;
        Config: { ExposedPorts: object; Volumes: object; Labels: object; Image: string };
      }>(t, id);
      const shown = r.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^box: policy behaviours: /, ''));
      expect(shown).toEqual([
        `name=${c.Name.slice(1)}`,
        `image=${ref} digest=${digest} id=${imageId}`,
        'image-config labels=org.example.team=blue,tier=image env=PATH=/bin entrypoint= cmd=true user= workdir=/srv ports=8080/tcp',
        'labels=behaviour=show,org.example.team=blue,tier=web',
        'restart=on-failure:2',
      ]);
      // inspect's Config: what the image declares, its labels with --label over them.
      expect(c.Config.ExposedPorts).toEqual({ '8080/tcp': {} });
      expect(c.Config.Volumes).toEqual({ '/data': {} });
      expect(c.Config.Labels).toEqual({ 'org.example.team': 'blue', tier: 'web', behaviour: 'show' });
      expect(c.Config.Image).toBe(imageId.slice(7, 19));
    } finally {
      expect(t.box(['rm', '-f', id]).status).toBe(0);
    }
  });

  const strict = ['--policy', 'strict', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '64', '--user', '1000'];

  it('strict judges an image given by id by the registry it came from', () => {
    for (const byId of [imageId, imageId.slice(7, 19)]) {
      const denied = t.box(['run', '--rm', ...strict, '--policy-arg', 'registries=docker.io', byId, 'true']);
      expect(denied.status).toBe(125);
      expect(denied.stderr).toBe(
        `box: denied by policy strict: images from ${reg.host} are not allowed (allowed: docker.io)\n`,
      );
    }
    const allowed = t.box(['run', '--rm', ...strict, '--policy-arg', `registries=${reg.host}`, imageId, 'true']);
    expect(allowed.stderr).toBe('box: policy strict: root filesystem made read-only\n');
    expect(allowed.status).toBe(0);
  });

  it('strict refuses an image given by id whose names span registries: its registry is unknown', () => {
    expect(t.box(['tag', ref, 'app:local']).status).toBe(0);
    try {
      const denied = t.box([
        'run',
        '--rm',
        ...strict,
        '--policy-arg',
        `registries=docker.io,${reg.host}`,
        imageId,
        'true',
      ]);
      expect(denied.status).toBe(125);
      expect(denied.stderr).toBe(
        `box: denied by policy strict: the image's registry is unknown (${imageId} has no name from a single registry): ` +
          `run it by a name from an allowed registry (docker.io, ${reg.host})\n`,
      );
      // By a name, the name decides.
      const byName = t.box(['run', '--rm', ...strict, '--policy-arg', 'registries=docker.io', 'app:local', 'true']);
      expect(byName.stderr).toBe('box: policy strict: root filesystem made read-only\n');
      expect(byName.status).toBe(0);
      expect(t.box(['ps', '-a', '-q']).stdout).toBe('');
    } finally {
      t.box(['rmi', 'app:local']);
    }
  });
});
