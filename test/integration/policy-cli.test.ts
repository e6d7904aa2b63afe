// `box policy ...` through the built binary: building the TypeScript example, testing it against
// its YAML cases, inspect, eval, export of a built-in, the types for authors, and the audit log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, REPO, TestRoot } from '../support/box';
import { nftTable } from '../support/network';

const EXAMPLE = path.join(REPO, 'policies', 'examples', 'team-rules.ts');
const CASES = path.join(REPO, 'policies', 'examples', 'team-rules.cases.yaml');
/** a published port's rule in box's nftables table (`ct status dnat` matches are not one) */
const DNAT_RULE = /dnat( ip)? to /;

describe('box policy', () => {
  const t = new TestRoot();
  let wasm: string;
  afterAll(() => t.cleanup());

  beforeAll(() => {
    wasm = path.join(t.dir, 'team-rules.wasm');
    const r = t.box(['policy', 'build', EXAMPLE, '-o', wasm], { timeout: 180_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 200_000);

  it('builds the TypeScript example into a component that passes its YAML cases', () => {
    const r = t.box(['policy', 'test', wasm, CASES]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^5 passed, 0 failed \(5 cases, policy team-rules sha256:[0-9a-f]{12}\)$/m);
  });

  it('reports a failing case like a test runner and exits 1', () => {
    const cases = path.join(t.dir, 'wrong.cases.yaml');
    fs.writeFileSync(
      cases,
      'cases:\n' +
        '  - name: expects the wrong thing\n' +
        '    request: { container: { labels: [[owner, x]], image: { reference: "a:1" } } }\n' +
        '    expect: { decision: deny }\n' +
        '  - name: right\n' +
        '    expect: { decision: deny, reasonsMatch: [not pinned] }\n',
    );
    const r = t.box(['policy', 'test', wasm, cases]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL  expects the wrong thing\n        decision allow, expected deny');
    expect(r.stdout).toContain('ok    right');
    expect(r.stdout).toContain('1 passed, 1 failed');
    fs.writeFileSync(cases, 'cases: [\n');
    const bad = t.box(['policy', 'test', wasm, cases]);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/^box: .*wrong\.cases\.yaml: /);
  });

  it('inspect shows the world, imports, digest and arguments', () => {
    const r = t.box(['policy', 'inspect', '--format', 'json', wasm]);
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({
      world: 'box:policy/admission@0.2.0',
      witVersion: '0.2.0',
      imports: [],
      info: { name: 'team-rules', version: '1.0.0' },
    });
    expect(info.info.arguments.map((a: { name: string }) => a.name)).toEqual(['max-memory']);
    expect(t.box(['policy', 'inspect', 'strict']).stdout).toMatch(/^Name:\s+strict /m);
  });

  it('eval prints the verdict for a request fragment and exits 0 for allow, 1 for deny', () => {
    const req = path.join(t.dir, 'req.json');
    fs.writeFileSync(req, JSON.stringify({ container: { image: { reference: 'web:2' }, labels: [['owner', 'me']] } }));
    const allowed = t.box(['policy', 'eval', wasm, '--request', req, '--policy-arg', 'max-memory=64m']);
    expect(allowed.status).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      decision: 'allow',
      patch: { limits: { memory: 64 * 1024 * 1024 } },
    });
    const denied = t.box(['policy', 'eval', wasm]);
    expect(denied.status).toBe(1);
    expect(JSON.parse(denied.stdout).reasons).toContain('an owner label is required (--label owner=NAME)');
  });

  it('exports a built-in as a component file that loads as the same policy', () => {
    const out = path.join(t.dir, 'strict.wasm');
    expect(t.box(['policy', 'export', 'strict', '-o', out]).status).toBe(0);
    const fromFile = JSON.parse(t.box(['policy', 'inspect', '--format', 'json', out]).stdout);
    const builtin = JSON.parse(t.box(['policy', 'inspect', '--format', 'json', 'strict']).stdout);
    expect(fromFile.sha256).toBe(builtin.sha256);
    expect(fromFile.info.name).toBe('strict');
    expect(t.box(['policy', 'export', 'nope']).status).toBe(125);
    // The real size, also when the transpiled form comes from the cache (the second time).
    for (let i = 0; i < 2; i++)
      expect(t.box(['policy', 'inspect', 'strict']).stdout).toContain(
        `\nSize:        ${fs.statSync(out).size} bytes\n`,
      );
  });

  it('box policy --help lists the policy commands', () => {
    for (const args of [['policy', '--help'], ['policy']]) {
      const r = t.box(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: {2}box policy COMMAND\n/);
      for (const sub of ['build', 'test', 'eval', 'inspect', 'export', 'ls', 'log', 'types'])
        expect(r.stdout).toMatch(new RegExp(`^ {2}${sub} +\\S`, 'm'));
    }
    const bad = t.box(['policy', 'nope']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toBe(`box: unknown command "policy nope" (see 'box policy --help')\n`);
  });

  it('writes the WIT and the TypeScript types for authors', () => {
    const dir = path.join(t.dir, 'types');
    expect(t.box(['policy', 'types', '-o', dir]).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'wit', 'policy.wit'), 'utf8')).toBe(
      fs.readFileSync(path.join(REPO, 'policies', 'wit', 'policy.wit'), 'utf8'),
    );
    expect(fs.readFileSync(path.join(dir, 'interfaces', 'box-policy-admission.d.ts'), 'utf8')).toContain(
      'export function evaluate(request: Request): Verdict;',
    );
  });

  it('refuses what is not a policy with a one-line error', () => {
    const core = path.join(t.dir, 'core.wasm');
    fs.writeFileSync(core, Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const truncated = path.join(t.dir, 'truncated.wasm');
    fs.writeFileSync(truncated, fs.readFileSync(wasm).subarray(0, 5000));
    for (const f of [core, truncated, path.join(t.dir, 'missing.wasm')]) {
      const r = t.box(['policy', 'inspect', f]);
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('builds the network-rules example, which passes its cases; network rules judge real containers', () => {
    const networkRules = path.join(t.dir, 'network-rules.wasm');
    const source = path.join(REPO, 'policies', 'examples', 'network-rules.ts');
    const built = t.box(['policy', 'build', source, '-o', networkRules], { timeout: 180_000 });
    expect(built.status).toBe(0);
    const cases = path.join(REPO, 'policies', 'examples', 'network-rules.cases.yaml');
    const r = t.box(['policy', 'test', networkRules, cases]);
    expect(r.stdout).toMatch(/^9 passed, 0 failed \(9 cases, policy network-rules sha256:[0-9a-f]{12}\)$/m);
    importBusybox(t);
    // baseline's host-ports: the host port box picks in 40000-40999 is judged, not only what -p says
    const publish = ['-p', '127.0.0.1:40000-40999:80'];
    const baseline = (ports: string) => ['--policy', 'baseline', '--policy-arg', `host-ports=${ports}`];
    const sleeper = ['busybox', 'sleep', '60'];
    const denied = t.box(['run', '-d', '--name', 'np-denied', ...baseline('80,443'), ...publish, ...sleeper]);
    expect(denied.status).toBe(125);
    expect(denied.stderr).toMatch(
      new RegExp(
        '^box: denied by policy baseline: container np-denied: host port 40\\d{3}/tcp is not allowed ' +
          '\\(host-ports=80,443\\): publish it on an allowed port\n$',
      ),
    );
    expect(t.box(['ps', '-aq']).stdout).toBe('');
    expect(nftTable(t.root)).not.toMatch(DNAT_RULE);
    const allowed = t.box(['run', '-d', '--name', 'np-allowed', ...baseline('40000-40999'), ...publish, ...sleeper]);
    expect(allowed.status).toBe(0);
    const port = /^80\/tcp -> 127\.0\.0\.1:(40\d{3})\n$/.exec(t.box(['port', 'np-allowed']).stdout)?.[1];
    expect(port).toBeDefined();
    expect(nftTable(t.root)).toMatch(new RegExp(`dport ${port} .*${DNAT_RULE.source}`));
    expect(t.box(['rm', '-f', 'np-allowed']).status).toBe(0);
    // the example's unpublish-ports patch: the container starts on its network with no port published
    const example = (...args: string[]) => ['--policy', networkRules, ...args];
    const unpublishing = example('--policy-arg', 'unpublish=true', '-p', '40000-40999:80');
    const unpublished = t.box(['run', '-d', '--name', 'np-unpublished', ...unpublishing, ...sleeper]);
    expect(unpublished.status).toBe(0);
    expect(unpublished.stderr).toContain('ports unpublished: ');
    expect(t.box(['port', 'np-unpublished']).stdout).toBe('');
    const inspected = JSON.parse(t.box(['inspect', 'np-unpublished']).stdout)[0];
    expect(inspected.HostConfig.NetworkMode).toBe('bridge');
    expect(nftTable(t.root)).not.toMatch(DNAT_RULE);
    expect(t.box(['rm', '-f', 'np-unpublished']).status).toBe(0);
    // its disconnect patch: a container labelled network.isolated=true has only lo
    const isolation = example('--label', 'network.isolated=true');
    const isolated = t.box(['run', '--rm', ...isolation, 'busybox', 'ls', '/sys/class/net']);
    expect([isolated.status, isolated.stdout]).toEqual([0, 'lo\n']);
  }, 200_000);

  it('builds the mount-rules example, which passes its cases and judges a container’s mounts', () => {
    const mountRules = path.join(t.dir, 'mount-rules.wasm');
    const example = path.join(REPO, 'policies', 'examples', 'mount-rules.ts');
    const built = t.box(['policy', 'build', example, '-o', mountRules], { timeout: 180_000 });
    expect(built.status).toBe(0);
    const cases = path.join(REPO, 'policies', 'examples', 'mount-rules.cases.yaml');
    const r = t.box(['policy', 'test', mountRules, cases]);
    expect(r.stdout).toMatch(/^5 passed, 0 failed \(5 cases, policy mount-rules sha256:[0-9a-f]{12}\)$/m);
    importBusybox(t);
    const denied = t.box(['run', '--rm', '--policy', mountRules, '-v', '/etc:/host-etc', 'busybox', 'true']);
    expect(denied.status).toBe(125);
    expect(denied.stderr).toContain('bind mount of /etc is outside the allowed directories (/srv)');
  }, 200_000);
});
