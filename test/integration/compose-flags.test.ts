// `box compose` with box run's admission flags (--policy, --no-default-policies: every container
// of the project judged by them, on up, create and run) and the service keys that map to run's
// network flags (mac_address, dns_search, dns_opt), a service's networks in priority order (up and
// run) and the IPv6 keys box refuses, against real containers.
import { describe, expect, it } from 'vitest';
import { busyboxRoot, leftovers, snapshot } from '../support/box';
import { composeContainers, composeProject, type TestProject } from '../support/compose';

const t = busyboxRoot();

const TWO = `services:
  fine: {image: busybox, command: sleep 1000, init: true}
  bad: {image: busybox, command: sleep 1000, init: true, privileged: true}
`;
const DENIED = 'denied by policy baseline: privileged containers are not allowed';

describe('compose and policies', () => {
  it('up, create and run judge every container by --policy; a denied service fails naming it and leaves nothing', () => {
    const before = snapshot(t);
    const p = composeProject(t, TWO);
    for (const verb of [['up', '-d'], ['create']]) {
      const r = t.box(p.compose(...verb, '--policy', 'baseline'));
      expect(r.status).toBe(125);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`box: service "bad": ${DENIED}`);
      expect(composeContainers(t, p.name)).toEqual([]);
      expect(t.box(['network', 'ls']).stdout).not.toContain(p.name);
    }

    // run makes the service's network first (no up before it); a refusal takes it away again
    const run = t.box(p.compose('run', '--rm', '--policy', 'baseline', 'bad', 'true'));
    expect(run.status).toBe(125);
    expect(run.stderr).toContain(DENIED);
    expect(composeContainers(t, p.name)).toEqual([]);
    expect(t.box(['network', 'ls']).stdout).not.toContain(p.name);
    const allowed = t.box(p.compose('run', '--rm', '--policy', 'baseline', 'fine', 'echo', 'ran'));
    expect(allowed.stdout).toBe('ran\n');
    expect(allowed.status).toBe(0);
    expect(composeContainers(t, p.name)).toEqual([]);

    // the service the policy allows comes up under it; a bad policy argument is refused before anything
    expect(t.box(p.compose('up', '-d', '--policy', 'baseline', 'fine')).status).toBe(0);
    expect(composeContainers(t, p.name)).toHaveLength(1);
    const badArg = t.box(p.compose('up', '-d', '--policy', 'baseline', '--policy-arg', 'novalue'));
    expect(badArg.status).toBe(125);
    expect(badArg.stderr).toMatch(/^box: [^\n]*--policy-arg[^\n]*\n$/); // one line, before anything
    expect(composeContainers(t, p.name)).toHaveLength(1);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('--no-default-policies lets root skip the default policies for the whole project', () => {
    const p = composeProject(t, TWO);
    const env = { ...process.env, BOX_POLICY: 'baseline' };
    const denied = t.box(p.compose('up', '-d'), { env });
    expect(denied.status).toBe(125);
    expect(denied.stderr).toContain(`service "bad": ${DENIED}`);
    const up = t.box(p.compose('up', '-d', '--no-default-policies'), { env });
    expect(up.stderr).not.toContain('denied');
    expect(up.status).toBe(0);
    expect(composeContainers(t, p.name)).toHaveLength(2);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });
});

describe('service keys for the network', () => {
  it("mac_address, dns_search and dns_opt reach the container's interface and resolv.conf", () => {
    const p = composeProject(
      t,
      `services:
  web:
    image: busybox
    command: sleep 1000
    init: true
    mac_address: 02:42:ac:11:00:42
    dns_search: shop.internal
    dns_opt: [ndots:3]
`,
    );
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const exec = (...cmd: string[]) => t.box(p.compose('exec', '-T', 'web', ...cmd)).stdout;
    expect(exec('cat', '/sys/class/net/eth0/address')).toBe('02:42:ac:11:00:42\n');
    const resolv = exec('cat', '/etc/resolv.conf');
    expect(resolv).toMatch(/^search shop\.internal$/m);
    expect(resolv).toMatch(/^options ndots:3$/m);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
  });
});

describe("a service's networks", () => {
  const exec = (p: TestProject, ...cmd: string[]) => t.box(p.compose('exec', '-T', 'web', ...cmd)).stdout;
  const gateway = (name: string) =>
    JSON.parse(t.box(['network', 'inspect', name]).stdout)[0].IPAM.Config[0].Gateway as string;
  /** `ETH ADDRESS` of each interface but lo, as `ip -o -4 addr` prints them. */
  const addresses = (ipOutput: string) =>
    ipOutput
      .split('\n')
      .map((l) => /^\d+: (eth\d+)\s+inet ([\d.]+)\//.exec(l))
      .flatMap((m) => (m ? [`${m[1]} ${m[2]}`] : []));
  /** The default routes `ip route` prints (busybox's takes no selector). */
  const defaults = (routes: string) =>
    routes
      .split('\n')
      .filter((l) => l.startsWith('default'))
      .map((l) => l.trim());
  const prefix = (address: string) => address.split('.').slice(0, 3).join('.');

  it('are joined highest priority first (eth0, the default route), by up and by run', () => {
    const before = snapshot(t);
    // alpha comes first in the file and by name: only its priority puts omega first
    const p = composeProject(
      t,
      `services:
  web:
    image: busybox
    command: sleep 1000
    init: true
    networks:
      alpha: {}
      omega: {priority: 10}
networks:
  alpha: {}
  omega: {attachable: true}
`,
    );
    expect(t.box(p.compose('up', '-d')).status).toBe(0);
    const [alphaGw, omegaGw] = ['alpha', 'omega'].map((n) => gateway(`${p.name}_${n}`));
    const attachable = (n: string) => JSON.parse(t.box(['network', 'inspect', `${p.name}_${n}`]).stdout)[0].Attachable;
    expect([attachable('alpha'), attachable('omega')]).toEqual([false, true]);
    const up = addresses(exec(p, 'ip', '-o', '-4', 'addr'));
    expect(up.map((a) => a.split(' ')[0])).toEqual(['eth0', 'eth1']);
    expect(prefix(up[0].split(' ')[1])).toBe(prefix(omegaGw));
    expect(prefix(up[1].split(' ')[1])).toBe(prefix(alphaGw));
    expect(defaults(exec(p, 'ip', 'route'))).toEqual([`default via ${omegaGw} dev eth0`]);

    // compose run joins every network of the service too, in the same order
    const run = t.box(p.compose('run', '--rm', '-T', 'web', 'sh', '-c', 'ip -o -4 addr; ip route'));
    expect(run.status, run.stderr).toBe(0);
    const ran = addresses(run.stdout);
    expect(ran.map((a) => a.split(' ')[0])).toEqual(['eth0', 'eth1']);
    expect(prefix(ran[0].split(' ')[1])).toBe(prefix(omegaGw));
    expect(prefix(ran[1].split(' ')[1])).toBe(prefix(alphaGw));
    expect(defaults(run.stdout)).toEqual([`default via ${omegaGw} dev eth0`]);
    expect(t.box(p.compose('down', '-t', '0')).status).toBe(0);
    expect(leftovers(t, before)).toEqual([]);
  });

  it('ipv6_address and enable_ipv6 are refused in one line (box has no IPv6), nothing is created', () => {
    const p = composeProject(
      t,
      'services:\n  web:\n    image: busybox\n    networks:\n      back: {ipv6_address: "fd00::5"}\nnetworks:\n  back: {}\n',
    );
    const r = t.box(p.compose('up', '-d'));
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      `box: ${p.dir}/compose.yaml:5: services.web.networks.back.ipv6_address: service "web": ` +
        "IPv6 is not supported by box's networks: remove it (box gives IPv4 addresses only)\n",
    );
    p.write('services:\n  web: {image: busybox, networks: [back]}\nnetworks:\n  back: {enable_ipv6: true}\n');
    const six = t.box(p.compose('up', '-d'));
    expect(six.status).toBe(125);
    expect(six.stderr).toBe(
      `box: ${p.dir}/compose.yaml:4: networks.back.enable_ipv6: ` +
        "IPv6 is not supported by box's networks: remove it or set it to false\n",
    );
    expect(composeContainers(t, p.name)).toEqual([]);
    expect(t.box(['network', 'ls']).stdout).not.toContain(p.name);
  });
});
