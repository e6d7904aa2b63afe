import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRoot } from '../support/box';
import { boxBuild } from '../support/build';
import { busyboxLayout, Registry, run, startRegistry, stopRegistry } from '../support/registry';

describe('box build pulls its base images', () => {
  const t = new TestRoot();
  let work: string;
  let reg: Registry;
  let ref: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-build-pull-'));
    const layout = busyboxLayout(work, { applets: ['sh', 'echo', 'cat'], config: ['--config.env', 'PATH=/bin'] });
    reg = await startRegistry(path.join(work, 'registry'));
    ref = `${reg.host}/test/bb:v1`;
    run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref}`]);
  }, 120_000);

  afterAll(async () => {
    if (reg) await stopRegistry(reg);
    t.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const build = (args: string[], dockerfile: string) => boxBuild(t, [...args, '-'], dockerfile);

  it('pulls a missing FROM image, then uses the stored one; --pull pulls again; a failed pull names it', () => {
    const dockerfile = `FROM ${ref}\nRUN echo built > /built\n`;
    const first = build(['-t', 'pulled:1'], dockerfile);
    expect(first.stderr).toContain(`Unable to find image '${ref}' locally`);
    expect(first.status).toBe(0);
    expect(t.box(['run', '--rm', 'pulled:1', 'cat', '/built']).stdout).toBe('built\n');
    const second = build(['-q'], dockerfile);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe(first.stdout);
    const always = build(['--pull'], dockerfile);
    expect(always.status).toBe(0);
    expect(always.stderr).toMatch(/Status: image [0-9a-f]{12} for /);
    const absent = build(['-q'], `FROM ${reg.host}/test/absent:v1\n`);
    expect(absent.status).not.toBe(0);
    expect(absent.stderr).toMatch(/^box: Dockerfile \(stdin\):1: .*\/test\/absent:v1: not found/);
    expect(absent.stderr.trim().split('\n')).toHaveLength(1);
  });
});
