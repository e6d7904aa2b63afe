// Policies on a container's networks, with real components and real containers: `box network
// connect` is judged by the container's policies with the new network added (the built-in
// baseline's networks=, and a policy built against box:policy@0.1), a refused connect changes
// nothing, and a 0.1 policy (the network-rules example as it was, built from its source against
// policies/wit/0.1) still loads, passes its old cases and judges every network of a container
// through the down-conversion (policies/wit/README.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRoot, inspectOne, REPO, runDetached } from '../support/box';
import { component, FIXTURES } from '../support/policy-components';

const t = busyboxRoot();

const ok = (args: string[]): string => {
  const r = t.box(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
};

/** The network interfaces inside a running container. */
const interfaces = (name: string): string => ok(['exec', name, 'ls', '/sys/class/net']);

const networksOf = (name: string): string[] =>
  Object.keys(inspectOne<{ NetworkSettings: { Networks: Record<string, unknown> } }>(t, name).NetworkSettings.Networks);

interface Audited {
  action?: string;
  container: { name: string };
  policy: { name: string };
  decision: string;
  outcome: string;
}

const audit = (): Audited[] =>
  fs
    .readFileSync(path.join(t.root, 'policy-audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Audited);

/** limits given, so that baseline sets none (and warns of nothing) */
const LIMITS = ['--memory', '64m', '--pids-limit', '100'];
const SLEEPER = ['busybox:latest', 'sleep', '120'];

describe('the network fields of the request', () => {
  it('box run fills them from flags and store, a connect adds its network last and cannot be patched away', async () => {
    const behaviours = path.join(t.dir, 'behaviours.wasm');
    fs.copyFileSync(await component(path.join(FIXTURES, 'behaviours.ts')), behaviours);
    ok(['network', 'create', '--internal', '--subnet', '10.213.117.0/24', 'pf-int']);
    ok(['network', 'create', 'pf-app']);
    const run = t.box([
      'run', '-d', '--name', 'pf-db', '--policy', behaviours, '--label', 'behaviour=show-network',
      '--network', 'pf-int', '--ip', '10.213.117.9', '--mac-address', '02:42:0a:d5:75:09',
      '--network-alias', 'database', '--hostname', 'dbhost', '--dns', '192.0.2.53', '--dns-search', 'example.com',
      '--dns-option', 'ndots:2', '--add-host', 'gw:192.0.2.1', ...SLEEPER,
    ]); // biome-ignore format: flags in pairs
    expect(run.status).toBe(0);
    const dns = 'dns servers=192.0.2.53 search=example.com options=ndots:2';
    const shown = (stderr: string) =>
      stderr
        .replace(/^box: policy behaviours: /gm, '')
        .trim()
        .split('\n');
    const int =
      'network pf-int driver=bridge internal=true ipv4=10.213.117.9 ipv6=- mac=02:42:0a:d5:75:09 aliases=database';
    expect(shown(run.stderr)).toEqual(['hostname=dbhost mode=bridge:pf-int', int, dns, 'extra-hosts=gw:192.0.2.1']);
    const connect = t.box(['network', 'connect', '--alias', 'sql', 'pf-app', 'pf-db']);
    expect(connect.status).toBe(0);
    expect(shown(connect.stderr)).toEqual([
      'hostname=dbhost mode=bridge:pf-int',
      int,
      'network pf-app driver=bridge internal=false ipv4=- ipv6=- mac=- aliases=sql',
      dns,
      'extra-hosts=gw:192.0.2.1',
    ]);
    ok(['rm', '-f', 'pf-db']);
    // a patch cannot take a container off its networks on a connect: the connect is refused
    const one = ['--policy', behaviours, '--label', 'behaviour=one-network', '--user', '1000', '--network', 'pf-app'];
    runDetached(t, '--name', 'pf-one', ...one, ...SLEEPER);
    const refused = t.box(['network', 'connect', 'pf-int', 'pf-one']);
    expect([refused.status, refused.stderr]).toEqual([
      125,
      'box: policy behaviours: one network only\n' +
        'box: policy behaviours would take container pf-one off its networks: the connect to pf-int is refused\n',
    ]);
    expect(interfaces('pf-one')).toBe('eth0\nlo\n');
    expect(networksOf('pf-one')).toEqual(['pf-app']);
    ok(['rm', '-f', 'pf-one']);
    ok(['network', 'rm', 'pf-int', 'pf-app']);
  }, 200_000);
});

describe('box network connect is judged by the policies', () => {
  it("baseline's networks= refuses a second network by connect and admits an allowed one", () => {
    for (const n of ['pn-a', 'pn-b', 'pn-c']) ok(['network', 'create', n]);
    const baseline = ['--policy', 'baseline', '--policy-arg', 'networks=pn-a,pn-c'];
    runDetached(t, '--name', 'pn-web', '--network', 'pn-a', ...baseline, ...LIMITS, ...SLEEPER);
    const denied = t.box(['network', 'connect', 'pn-b', 'pn-web']);
    expect([denied.status, denied.stderr]).toEqual([
      125,
      'box: denied by policy baseline: container pn-web: network pn-b is not allowed (networks=pn-a,pn-c): ' +
        'run it with --network pn-a or pn-c\n',
    ]);
    // nothing changed: no interface, no endpoint in the record
    expect(interfaces('pn-web')).toBe('eth0\nlo\n');
    expect(networksOf('pn-web')).toEqual(['pn-a']);
    ok(['network', 'connect', 'pn-c', 'pn-web']);
    expect(interfaces('pn-web')).toBe('eth0\neth1\nlo\n');
    expect(networksOf('pn-web').sort()).toEqual(['pn-a', 'pn-c']);
    const connects = audit().filter((a) => a.action === 'connect' && a.container.name === 'pn-web');
    expect(connects.map((a) => [a.policy.name, a.decision, a.outcome])).toEqual([
      ['baseline', 'deny', 'denied'],
      ['baseline', 'allow', 'admitted'],
    ]);
    // a stopped container is judged the same way (its record alone would change)
    ok(['stop', '-t', '0', 'pn-web']);
    const stopped = t.box(['network', 'connect', 'pn-b', 'pn-web']);
    expect(stopped.status).toBe(125);
    expect(networksOf('pn-web').sort()).toEqual(['pn-a', 'pn-c']);
    ok(['rm', '-f', 'pn-web']);
    ok(['network', 'rm', 'pn-a', 'pn-b', 'pn-c']);
  });
});

describe('compose: every network of a service is judged', () => {
  it("a service's second network outside baseline's networks= fails up, and leaves no container", () => {
    const dir = fs.mkdtempSync(path.join(t.dir, 'compose-'));
    const name = `pn${path.basename(dir).slice(-6).toLowerCase()}`;
    const file = path.join(dir, 'compose.yaml');
    fs.writeFileSync(
      file,
      'services:\n  web: {image: busybox, command: sleep 1000, networks: [front, back]}\n' +
        'networks: {front: {}, back: {}}\n',
    );
    // a default policy with arguments (policies.d), as an administrator sets one
    const policies = path.join(t.root, 'policies.d');
    fs.mkdirSync(policies, { recursive: true });
    const rule = { policy: 'baseline', args: { networks: `${name}_front` } };
    fs.writeFileSync(path.join(policies, 'networks.json'), JSON.stringify(rule));
    try {
      const r = t.box(['compose', '-f', file, '-p', name, 'up', '-d']);
      expect(r.status).toBe(125);
      expect(r.stderr).toContain(
        `service "web": denied by policy baseline: container ${name}-web-1: network ${name}_back is not allowed ` +
          `(networks=${name}_front): run it with --network ${name}_front`,
      );
      const left = t.box(['ps', '-aq', '--filter', `label=com.docker.compose.project=${name}`]);
      expect(left.stdout).toBe('');
    } finally {
      fs.rmSync(policies, { recursive: true, force: true });
    }
    t.box(['compose', '-f', file, '-p', name, 'down']);
    expect(t.box(['network', 'ls']).stdout).not.toContain(name);
  });
});

describe('a policy built against box:policy@0.1', () => {
  let v01: string;

  it('loads, says which version it targets and passes the cases it passed before', async () => {
    const wit = fs.readFileSync(path.join(REPO, 'policies', 'wit', '0.1', 'policy.wit'), 'utf8');
    // named as its users name it: box names a policy after its file
    v01 = path.join(t.dir, 'network-rules.wasm');
    fs.copyFileSync(await component(path.join(FIXTURES, 'network-rules-0.1.ts'), { witText: wit }), v01);
    const info = JSON.parse(ok(['policy', 'inspect', '--format', 'json', v01]));
    expect(info).toMatchObject({ world: 'box:policy/admission@0.1.0', witVersion: '0.1.0', imports: [] });
    const cases = path.join(FIXTURES, 'network-rules-0.1.cases.yaml');
    const r = t.box(['policy', 'test', v01, cases]);
    expect(r.stdout).toMatch(/^6 passed, 0 failed \(6 cases, policy network-rules sha256:[0-9a-f]{12}\)$/m);
    expect(r.status).toBe(0);
  }, 200_000);

  it('judges every network of a container: the one it starts on, and one added by connect', () => {
    expect(v01).toBeDefined();
    for (const n of ['pv-a', 'pv-b']) ok(['network', 'create', n]);
    const policy = ['--policy', v01, '--policy-arg', 'networks=pv-a'];
    const refused = t.box(['run', '-d', '--name', 'pv-refused', '--network', 'pv-b', ...policy, ...SLEEPER]);
    expect([refused.status, refused.stderr]).toEqual([
      125,
      'box: denied by policy network-rules: container pv-refused: network pv-b is not allowed (allowed: pv-a)\n',
    ]);
    runDetached(t, '--name', 'pv-web', '--network', 'pv-a', ...policy, ...SLEEPER);
    const denied = t.box(['network', 'connect', 'pv-b', 'pv-web']);
    expect([denied.status, denied.stderr]).toEqual([
      125,
      'box: denied by policy network-rules: container pv-web: network pv-b is not allowed (allowed: pv-a)\n',
    ]);
    expect(interfaces('pv-web')).toBe('eth0\nlo\n');
    // its patches still work: the disconnect patch of a container labelled network.isolated=true
    const isolated = t.box(
      ['run', '--rm', '--policy', v01, '--label', 'network.isolated=true', 'busybox:latest'].concat([
        'ls',
        '/sys/class/net',
      ]),
    );
    expect([isolated.status, isolated.stdout]).toEqual([0, 'lo\n']);
    // and unpublish-ports: the container starts on its network with no port published
    const unpublishing = ['--policy', v01, '--policy-arg', 'unpublish=true', '-p', '40000-40999:80'];
    const unpublished = t.box(['run', '-d', '--name', 'pv-unpublished', ...unpublishing, ...SLEEPER]);
    expect(unpublished.status).toBe(0);
    expect(unpublished.stderr).toContain('ports unpublished: ');
    expect(t.box(['port', 'pv-unpublished']).stdout).toBe('');
    ok(['rm', '-f', 'pv-web', 'pv-unpublished']);
    ok(['network', 'rm', 'pv-a', 'pv-b']);
  });
});
