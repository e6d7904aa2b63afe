// `box run --pull missing|always|never` against a real registry on 127.0.0.1 (Debian's
// docker-registry), with an image built by umoci and pushed by skopeo.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayout, freePort, Registry, run, startRegistry, stopRegistry } from '../support/registry';
import { TestRoot } from '../support/box';

describe('box run --pull', () => {
  const t = new TestRoot();
  let work: string;
  let reg: Registry;
  let ref: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'box-run-pull-'));
    const layout = busyboxLayout(work, { applets: ['sh', 'echo'], config: ['--config.env', 'PATH=/bin'] });
    reg = await startRegistry(path.join(work, 'registry'));
    ref = `${reg.host}/test/bb:v1`;
    run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref}`]);
  }, 120_000);

  afterAll(async () => {
    if (reg) await stopRegistry(reg);
    t.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('pulls a missing image first, then uses the stored one', () => {
    const first = t.box(['run', '--rm', ref, 'echo', 'hi']);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe('hi\n');
    expect(first.stderr).toContain(`Unable to find image '${ref}' locally`);
    expect(first.stderr).toMatch(/Status: image [0-9a-f]{12} for /);
    const second = t.box(['run', '--rm', ref, 'echo', 'again']);
    expect(second.stdout).toBe('again\n');
    expect(second.stderr).toBe('');
  });

  it('--pull always pulls even when the image is stored; never does not pull', () => {
    const always = t.box(['run', '--rm', '--pull', 'always', ref, 'echo', 'x']);
    expect(always.status).toBe(0);
    expect(always.stderr).toMatch(/Status: image [0-9a-f]{12} for /);
    const never = t.box(['run', '--rm', '--pull', 'never', `${reg.host}/test/absent:v1`, 'true']);
    expect(never.status).toBe(125);
    expect(never.stderr).toMatch(/not found/);
    expect(t.box(['run', '--rm', '--pull', 'sometimes', ref, 'true']).stderr).toMatch(/invalid --pull "sometimes"/);
  });

  it('a pull that fails ends the run with a one-line error and leaves no container', async () => {
    const closed = await freePort(); // nothing listens there
    const r = t.box(['run', '--rm', `127.0.0.1:${closed}/test/bb:v1`, 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^box: /);
    expect(t.box(['ps', '-a', '-q']).stdout).toBe('');
  });
});
