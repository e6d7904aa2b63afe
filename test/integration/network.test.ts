// Networks end to end, against the real kernel: `box network` commands and their errors, two
// containers on one network talking by name (busybox httpd and nc) but not across networks,
// connect/disconnect of a running container, IPAM that reclaims a killed container's address
// (also after the runtime root is wiped), and failed starts that leave no veth, allocation or
// ruleset behind; two storage roots whose paths give one tag (their bridge's and table's names).
// Traffic flows only between containers of this file's networks.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOX, busyboxRoot, inspectOne, runDetached, until } from '../support/box';
import { ROOT_TAG_CLAIMS_DIR, rootTag } from '../../src/network/kernel-names';
import { bridgePorts, hasNftTable, nftTable, removeRootNetworkObjects, rootBridges, vethsOf } from '../support/network';

const t = busyboxRoot();

interface Endpoint {
  IPAddress: string;
  Gateway: string;
  MacAddress: string;
  IPPrefixLen: number;
  NetworkID: string;
  EndpointID: string;
  Aliases: string[] | null;
}

interface Inspected {
  Id: string;
  State: { Pid: number; Status: string };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { IPAddress: string; Networks: Record<string, Endpoint> };
}

const ok = (args: string[]) => {
  const r = t.box(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
};

/** The live allocations of a network, from its ipam.json (container id -> address). */
function allocations(networkId: string): Record<string, string> {
  const file = path.join(t.root, 'networks', networkId, 'ipam.json');
  if (!fs.existsSync(file)) return {};
  const f = JSON.parse(fs.readFileSync(file, 'utf8')) as { allocations: Record<string, { address: string }> };
  return Object.fromEntries(Object.entries(f.allocations).map(([id, a]) => [id, a.address]));
}

/** An HTTP GET through nc from a new container on `network`: the body, or '' when it cannot connect. */
function fetch(network: string, host: string): string {
  const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${host} 80`;
  const r = t.box(['run', '--rm', '--network', network, 'busybox:latest', 'sh', '-c', script]);
  return r.stdout.split('\r\n\r\n')[1] ?? '';
}

function startWeb(name: string, ...flags: string[]): string {
  const script = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';
  return runDetached(t, '--name', name, ...flags, 'busybox:latest', 'sh', '-c', script);
}

describe('box network commands', () => {
  it('create, ls, inspect, rm and prune print what Docker prints and refuse what Docker refuses', () => {
    const id = ok(['network', 'create', '--label', 'team=a', '-o', 'mtu=1400', 'cmd-a']).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ls = ok(['network', 'ls']).split('\n');
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    // by name, as Docker's
    expect(ls.slice(1, 5).map((l) => l.split(/\s+/).slice(1))).toEqual([
      ['bridge', 'bridge', 'local'],
      ['cmd-a', 'bridge', 'local'],
      ['host', 'host', 'local'],
      ['none', 'null', 'local'],
    ]);
    expect(ls[2]).toBe(`${id.slice(0, 12)}   cmd-a    bridge   local`);
    expect(ok(['network', 'ls', '-q', '--no-trunc', '--filter', 'label=team=a'])).toBe(`${id}\n`);
    expect(ok(['network', 'ls', '-q', '--filter', 'name=cmd-'])).toBe(`${id.slice(0, 12)}\n`);
    const [n] = JSON.parse(ok(['network', 'inspect', 'cmd-a'])) as Array<Record<string, unknown>>;
    expect(n).toMatchObject({
      Name: 'cmd-a',
      Id: id,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      Internal: false,
      Containers: {},
      Options: { mtu: '1400' },
      Labels: { team: 'a' },
    });
    // network create made the bridge, with the gateway's address and the MTU asked for
    const [bridge] = rootBridges(t.root).filter((b) => b.endsWith(id.slice(0, 8)));
    const link = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show', 'dev', bridge], { encoding: 'utf8' }))[0];
    expect(link.mtu).toBe(1400);
    const cfg = (n.IPAM as { Config: Array<{ Subnet: string; Gateway: string }> }).Config[0];
    expect(`${link.addr_info[0].local}/${link.addr_info[0].prefixlen}`).toBe(
      `${cfg.Gateway}/${cfg.Subnet.split('/')[1]}`,
    );

    const errors: Array<[string[], number, RegExp]> = [
      [['network', 'create', 'cmd-a'], 1, /^box: network with name cmd-a already exists\n$/],
      [['network', 'create', 'bridge'], 1, /network with name bridge already exists/],
      [['network', 'create', '--driver', 'overlay', 'x'], 125, /network driver "overlay" is not supported/],
      [['network', 'create', '--subnet', '10.1.2.3/24', 'x'], 125, /host bits set; did you mean 10.1.2.0\/24\?/],
      [['network', 'create', '--subnet', cfg.Subnet, 'x'], 1, /overlaps network cmd-a's/],
      [['network', 'create', '--gateway', '10.0.0.1', 'x'], 125, /--gateway and --ip-range need --subnet/],
      [['network', 'rm', 'bridge'], 1, /^box: bridge is a pre-defined network and cannot be removed\n$/],
      [['network', 'rm', 'nosuch'], 1, /^box: network nosuch not found\n$/],
      [['network', 'inspect', 'nosuch'], 1, /^box: no such network: nosuch\n$/],
      [['run', '--rm', '--network', 'nosuch', 'busybox:latest', 'true'], 125, /network nosuch not found/],
    ];
    for (const [args, status, stderr] of errors) {
      const r = t.box(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({
        args,
        status,
        stderr: expect.stringMatching(stderr),
      });
    }
    expect(ok(['network', 'rm', 'cmd-a'])).toBe('cmd-a\n');
    expect(rootBridges(t.root).filter((b) => b.endsWith(id.slice(0, 8)))).toEqual([]);
    ok(['network', 'create', 'cmd-b']);
    ok(['network', 'create', 'cmd-c']);
    expect(ok(['network', 'prune', '-f'])).toBe('Deleted Networks:\ncmd-b\ncmd-c\n');
    expect(ok(['network', 'ls', '-q', '--filter', 'type=custom'])).toBe('');
  });
});

describe('containers on networks', () => {
  it('two containers of one network talk by name, not across networks; rm is refused while one runs', () => {
    ok(['network', 'create', 'talk-a']);
    ok(['network', 'create', 'talk-b']);
    const id = startWeb('talk-web', '--network', 'talk-a', '--network-alias', 'site');
    const web = inspectOne<Inspected>(t, 'talk-web');
    const ep = web.NetworkSettings.Networks['talk-a'];
    expect(web.HostConfig.NetworkMode).toBe('talk-a');
    expect(ep.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(ep.IPPrefixLen).toBe(24);
    expect(ep.Aliases).toEqual(['site']);
    expect(vethsOf(id)).toEqual([`vb${id.slice(0, 10)}0`]);
    expect(hasNftTable(t.root)).toBe(true);

    expect(fetch('talk-a', 'talk-web')).toBe('hello from ' + id.slice(0, 12) + '\n');
    expect(fetch('talk-a', 'site')).toContain('hello from');
    expect(fetch('talk-b', ep.IPAddress)).toBe(''); // isolation between networks
    expect(fetch('talk-b', 'talk-web')).toBe(''); // and no name from another network

    // a responder killed while its network has containers is started again by network prune
    const pidFile = path.join(t.root, 'run', 'networks', ep.NetworkID, 'dns.pid');
    const responder = () => (JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { token: string }).token.split('.')[0];
    const killed = responder();
    process.kill(Number(killed), 'SIGKILL');
    until(
      'the responder gone',
      () => isZombie(Number(killed)),
      (dead) => dead,
    );
    expect(ok(['network', 'prune', '-f'])).toBe('Deleted Networks:\ntalk-b\n');
    expect(responder()).not.toBe(killed);
    expect(isZombie(Number(responder()))).toBe(false);
    expect(fetch('talk-a', 'talk-web')).toContain('hello from');

    const rm = t.box(['network', 'rm', 'talk-a']);
    expect(rm.status).toBe(1);
    expect(rm.stderr).toBe('box: network talk-a has active endpoints (talk-web): stop or disconnect them first\n');
    ok(['rm', '-f', 'talk-web']);
    expect(vethsOf(id)).toEqual([]);
    expect(allocations(ep.NetworkID)).toEqual({});
    ok(['network', 'rm', 'talk-a']);
  });

  it('connect and disconnect a running container', () => {
    ok(['network', 'create', 'conn-a']);
    ok(['network', 'create', 'conn-b']);
    const id = startWeb('conn-web', '--network', 'conn-a');
    expect(fetch('conn-b', 'conn-web')).toBe('');
    ok(['network', 'connect', '--alias', 'w2', 'conn-b', 'conn-web']);
    const nets = inspectOne<Inspected>(t, 'conn-web').NetworkSettings.Networks;
    expect(Object.keys(nets)).toEqual(['conn-a', 'conn-b']);
    expect(nets['conn-b'].IPAddress).not.toBe('');
    expect(vethsOf(id).sort()).toEqual([`vb${id.slice(0, 10)}0`, `vb${id.slice(0, 10)}1`]);
    expect(fetch('conn-b', 'w2')).toContain('hello from');
    const again = t.box(['network', 'connect', 'conn-b', 'conn-web']);
    expect([again.status, again.stderr]).toEqual([
      1,
      'box: container conn-web is already connected to network conn-b\n',
    ]);

    ok(['network', 'disconnect', 'conn-a', 'conn-web']);
    expect(vethsOf(id)).toEqual([`vb${id.slice(0, 10)}1`]);
    expect(Object.keys(inspectOne<Inspected>(t, 'conn-web').NetworkSettings.Networks)).toEqual(['conn-b']);
    expect(fetch('conn-a', 'conn-web')).toBe('');
    expect(fetch('conn-b', 'conn-web')).toContain('hello from');
    const not = t.box(['network', 'disconnect', 'conn-a', 'conn-web']);
    expect([not.status, not.stderr]).toEqual([1, 'box: container conn-web is not connected to network conn-a\n']);
    ok(['network', 'disconnect', '-f', 'conn-a', 'conn-web']);
    // a restart attaches it again, to the networks its record names now
    ok(['restart', '-t', '0', 'conn-web']);
    expect(fetch('conn-b', 'conn-web')).toContain('hello from');
    expect(Object.keys(inspectOne<Inspected>(t, 'conn-web').NetworkSettings.Networks)).toEqual(['conn-b']);
    ok(['rm', '-f', 'conn-web']);
    ok(['network', 'rm', 'conn-a', 'conn-b']);
  });
});

const isZombie = (pid: number) =>
  !fs.existsSync(`/proc/${pid}/status`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));

describe('box info', () => {
  it('says whether IPv4 forwarding is on, which a container on the default bridge needs and turns on', () => {
    ok(['run', '--rm', 'busybox:latest', 'true']);
    const kernel = () => fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    expect(kernel()).toBe('1');
    expect(ok(['info'])).toContain('\nIPv4 forwarding:    on (box turns it on for a network that is not --internal)\n');
    expect(JSON.parse(ok(['info', '--format', 'json'])).ipv4Forwarding).toBe(true);
    expect(ok(['info', '--format', '{{.IPv4Forwarding}}'])).toBe('true\n');
  });
});

describe('run flags on networks', () => {
  it('--ip, --mac-address, --hostname, --add-host and --dns* shape the interface, /etc/hosts and resolv.conf', () => {
    const netId = ok(['network', 'create', '--subnet', '10.231.9.0/24', 'flags']).trim();
    const script = 'ip -o link show eth0; ip -4 -o addr show eth0; cat /etc/hosts /etc/resolv.conf';
    const out = ok([
      'run',
      '--rm',
      '--network',
      'flags',
      '--ip',
      '10.231.9.77',
      '--mac-address',
      '02:42:0a:00:00:77',
      '--hostname',
      'h1',
      '--add-host',
      'db:10.9.9.9',
      '--dns',
      '10.231.9.53',
      '--dns-search',
      'example.test',
      '--dns-option',
      'ndots:2',
      'busybox:latest',
      'sh',
      '-c',
      script,
    ]);
    expect(out).toContain('link/ether 02:42:0a:00:00:77');
    expect(out).toContain('inet 10.231.9.77/24');
    expect(out).toContain('10.9.9.9\tdb\n10.231.9.77\th1\n');
    expect(out).toMatch(/nameserver 10\.231\.9\.53\nsearch example\.test\noptions ndots:2\n$/);
    expect(out).not.toContain('nameserver 10.231.9.1');
    // without --dns, a user network's own responder (its gateway) is the name server
    const plain = ok(['run', '--rm', '--network', 'flags', 'busybox:latest', 'cat', '/etc/resolv.conf']);
    expect(plain).toMatch(/^nameserver 10\.231\.9\.1$/m);
    expect(allocations(netId)).toEqual({});
    const bad = t.box(['run', '--rm', '--network', 'flags', '--ip', '10.231.10.5', 'busybox:latest', 'true']);
    expect([bad.status, bad.stderr]).toEqual([
      125,
      "box: --ip 10.231.10.5 is not in network flags's subnet 10.231.9.0/24: choose an address inside it\n",
    ]);
    ok(['network', 'rm', 'flags']);
  });

  it('a killed box run leaves nothing: the next command ends its container, the address and veth go', () => {
    const netId = ok(['network', 'create', 'killed']).trim();
    const child = t.start(['run', '--name', 'orphan', '--network', 'killed', 'busybox:latest', 'sleep', '600']);
    const id = until(
      'the container running with an address',
      () => Object.keys(allocations(netId)),
      (ids) => ids.length === 1,
    )[0];
    until(
      'its veth',
      () => vethsOf(id),
      (v) => v.length === 1,
    );
    child.kill('SIGKILL');
    // (the event loop is not run meanwhile: the kernel says when box is gone, a zombie counts)
    until(
      'box run gone',
      () => isZombie(child.pid!),
      (dead) => dead,
    );
    ok(['ps', '-a']); // finds the owner dead: stops the container and records its end
    until(
      'its veth gone with its netns',
      () => vethsOf(id),
      (v) => v.length === 0,
    );
    expect(Object.keys(allocations(netId)).filter((c) => c === id)).toEqual([]);
    // and its address is handed out again (the reconcile on allocate)
    const next = ok(['run', '--rm', '--network', 'killed', 'busybox:latest', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(next).toContain('.2/24');
    ok(['rm', '-f', 'orphan']);
    ok(['network', 'rm', 'killed']);
  });
});

describe('published ports', () => {
  /** An HTTP GET from the host through busybox's nc: the body, or '' when nothing answers. */
  function hostFetch(port: number): string {
    const r = spawnSync('busybox', ['nc', '-w', '2', '127.0.0.1', String(port)], {
      input: 'GET / HTTP/1.0\r\n\r\n',
      encoding: 'utf8',
    });
    return r.stdout.split('\r\n\r\n')[1] ?? '';
  }

  it('-p publishes a port on the host (DNAT, no proxy), a taken port is refused, rm unpublishes it', () => {
    const id = startWeb('pub-web', '-p', '127.0.0.1::80');
    const line = ok(['port', 'pub-web']);
    const m = /^80\/tcp -> 127\.0\.0\.1:(\d+)\n$/.exec(line);
    expect(m).not.toBeNull();
    const port = Number(m![1]);
    expect(hostFetch(port)).toBe(`hello from ${id.slice(0, 12)}\n`);
    const inspected = JSON.parse(ok(['inspect', 'pub-web']))[0];
    expect(inspected.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    expect(inspected.HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    const taken = t.box(['run', '--rm', '-p', `${port}:80`, 'busybox:latest', 'true']);
    expect(taken.status).toBe(125);
    expect(taken.stderr).toBe(
      `box: Bind for 0.0.0.0:${port} failed: port is already allocated (by a container); ` +
        'publish 80/tcp on another host port\n',
    );
    ok(['rm', '-f', 'pub-web']);
    expect(hostFetch(port)).toBe('');
  });
});

describe('a removed network', () => {
  it('refuses the start of a stopped container that named it, saying how to recover, and can be disconnected', () => {
    ok(['network', 'create', 'vanishing']);
    ok(['create', '--name', 'left', '--network', 'vanishing', 'busybox:latest', 'true']);
    expect(ok(['network', 'rm', 'vanishing'])).toBe('vanishing\n'); // Docker's: no running endpoint
    const r = t.box(['start', 'left']);
    expect([r.status, r.stderr]).toEqual([
      125,
      'box: network vanishing of container left was removed: disconnect it (box network disconnect vanishing left) ' +
        'or create the container again\n',
    ]);
    ok(['network', 'disconnect', 'vanishing', 'left']);
    ok(['start', '-a', 'left']);
    ok(['rm', 'left']);
  });
});

describe('IPAM never leaks', () => {
  /** Kills a detached container's monitor, then its init, so nobody releases anything. */
  function killEverything(name: string): void {
    const r = JSON.parse(fs.readFileSync(path.join(t.root, 'containers', idOf(name), 'container.json'), 'utf8')) as {
      state: { pid: number; monitorPid: number };
    };
    process.kill(r.state.monitorPid, 'SIGKILL');
    process.kill(r.state.pid, 'SIGKILL');
    until(
      'the init gone',
      () => fs.existsSync(`/proc/${r.state.pid}`),
      (alive) => !alive,
    );
  }
  const idOf = (name: string) => inspectOne<Inspected>(t, name).Id;

  it("a killed container's address is free again, also after the runtime root is wiped", () => {
    const netId = ok(['network', 'create', '--subnet', '10.231.7.0/29', 'reclaim']).trim(); // 10.231.7.2 .. .6
    startWeb('victim', '--network', 'reclaim', '--ip', '10.231.7.3');
    expect(Object.values(allocations(netId))).toEqual(['10.231.7.3']);
    const taken = t.box(['run', '--rm', '--network', 'reclaim', '--ip', '10.231.7.3', 'busybox:latest', 'true']);
    expect(taken.status).toBe(125);
    expect(taken.stderr).toContain('address 10.231.7.3 is already in use on network reclaim');
    killEverything('victim');
    ok(['run', '--rm', '--network', 'reclaim', '--ip', '10.231.7.3', 'busybox:latest', 'true']);

    startWeb('victim2', '--network', 'reclaim', '--ip', '10.231.7.4');
    killEverything('victim2');
    fs.rmSync(path.join(t.root, 'run'), { recursive: true, force: true }); // what a reboot does to /run
    const out = ok(['run', '--rm', '--network', 'reclaim', '--ip', '10.231.7.4', 'busybox:latest', 'ip', 'addr']);
    expect(out).toContain('inet 10.231.7.4/29');
    ok(['rm', '-f', 'victim', 'victim2']);
    ok(['network', 'rm', 'reclaim']);
  });

  it('an exhausted range is one line naming the network, and a failed start leaves nothing', () => {
    const netId = ok(['network', 'create', '--subnet', '10.231.8.0/30', 'tiny']).trim(); // only .2
    const id = startWeb('holder', '--network', 'tiny');
    // the veths on this network's bridge (other test runs' containers come and go on the host)
    const bridge = rootBridges(t.root).find((b) => b.endsWith(netId.slice(0, 8)))!;
    const before = bridgePorts(bridge);
    expect(before).toEqual(vethsOf(id));
    const r = t.box(['run', '-d', '--name', 'second', '--network', 'tiny', 'busybox:latest', 'sleep', '60']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^box: no free address left on network tiny \(10\.231\.8\.0\/30\): .*\n$/);
    expect(r.stderr.split('\n').length).toBe(2);
    expect(bridgePorts(bridge)).toEqual(before);
    expect(Object.keys(allocations(netId))).toEqual([id]);
    // refused before the container existed: no record, no name
    expect(t.box(['inspect', 'second']).status).not.toBe(0);
    const taken = t.box(['run', '--rm', '--network', 'tiny', '--ip', '10.231.8.2', 'busybox:latest', 'true']);
    expect([taken.status, taken.stderr]).toEqual([
      125,
      'box: address 10.231.8.2 is already in use on network tiny: choose another --ip\n',
    ]);
    // box create makes the container (as Docker's); its start is refused by the allocation itself
    ok(['create', '--name', 'second', '--network', 'tiny', 'busybox:latest', 'sleep', '60']);
    const start = t.box(['start', 'second']);
    expect(start.status).toBe(125);
    expect(start.stderr).toMatch(/no free address left on network tiny/);
    expect(bridgePorts(bridge)).toEqual(before);
    expect(Object.keys(allocations(netId))).toEqual([id]);
    expect(inspectOne<Inspected>(t, 'second').State.Status).toBe('created');
    ok(['rm', '-f', 'holder', 'second']);
    expect(allocations(netId)).toEqual({});
    expect(nftTable(t.root)).toContain(bridge);
    ok(['network', 'rm', 'tiny']);
    // the network is gone from box's table with its bridge
    expect(nftTable(t.root)).not.toContain(bridge);
  });
});

describe('many containers at once', () => {
  const COUNT = Number(process.env.BOX_NET_CONCURRENT ?? 100);
  it(`${COUNT} containers started concurrently on one network get distinct addresses`, async () => {
    ok(['network', 'create', 'crowd']);
    const runs = Array.from(
      { length: COUNT },
      (_, i) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const c = spawn(BOX, [
            '--root',
            t.root,
            'run',
            '-d',
            '--name',
            `crowd-${i}`,
            '--network',
            'crowd',
            'busybox:latest',
            'sleep',
            '600',
          ]);
          let out = '';
          let err = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (err += d));
          c.on('close', (code) => resolve({ code, out, err }));
        }),
    );
    const results = await Promise.all(runs);
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    const addresses = results.map((_, i) => inspectOne<Inspected>(t, `crowd-${i}`).NetworkSettings.IPAddress);
    expect(new Set(addresses).size).toBe(COUNT);
    ok(['rm', '-f', ...results.map((_, i) => `crowd-${i}`)]);
    ok(['network', 'rm', 'crowd']);
  }, 300_000);
});

describe('two storage roots whose paths give one tag', () => {
  it('the second is refused in one line while the first exists, and takes the tag over once it is gone', () => {
    // two root paths whose 4-hex tags collide (about 300 tries on average)
    const byTag = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const root = path.join(t.dir, `tag-${i}`);
      const seen = byTag.get(rootTag({ root }));
      if (seen) pair = [seen, root];
      else byTag.set(rootTag({ root }), root);
    }
    const [first, second] = pair;
    const tag = rootTag({ root: first });
    const claim = path.join(ROOT_TAG_CLAIMS_DIR, tag);
    const box = (root: string, ...args: string[]) => spawnSync(BOX, ['--root', root, ...args], { encoding: 'utf8' });
    try {
      expect(box(first, 'network', 'create', 'one').status).toBe(0);
      const table = nftTable(first);
      const firstBridge = JSON.parse(box(first, 'network', 'inspect', 'bridge').stdout)[0];
      for (const args of [
        ['network', 'create', 'two'],
        ['network', 'ls'],
      ]) {
        const r = box(second, ...args);
        expect(r.status).toBe(125);
        expect(r.stderr).toBe(
          `box: storage root ${second} would share its network objects (bridge bx${tag}0, nftables table ` +
            `box-${tag}) with storage root ${first}, whose path gives the same tag ${tag}: use another --root path\n`,
        );
      }
      // system check of the second takes none of the first's bridges or table for its own leftovers
      const bridges = rootBridges(first);
      expect(bridges).toHaveLength(2); // bridge's and one's
      const check = box(second, 'system', 'check', '--fix', '--format', 'json');
      expect(check.stdout).not.toContain(`bx${tag}`);
      expect(check.stdout).not.toContain(`box-${tag}`);
      expect(rootBridges(first)).toEqual(bridges);
      // nothing of the second root's was made, and the first's objects are as they were
      expect(fs.existsSync(path.join(second, 'networks'))).toBe(false);
      expect(nftTable(first)).toBe(table);
      const gateway = firstBridge.IPAM.Config[0].Gateway;
      expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', `bx${tag}0`], { encoding: 'utf8' })).toContain(gateway);
      expect(fs.readFileSync(claim, 'utf8')).toBe(first);

      // the first root removed (its objects with it): the second takes the tag
      expect(box(first, 'network', 'rm', 'one').status).toBe(0);
      removeRootNetworkObjects(first);
      fs.rmSync(first, { recursive: true, force: true });
      expect(box(second, 'network', 'create', 'two').status).toBe(0);
      expect(fs.readFileSync(claim, 'utf8')).toBe(second);
      expect(nftTable(second)).toContain(`bx${tag}0`);
      expect(box(second, 'network', 'rm', 'two').status).toBe(0);
    } finally {
      for (const root of pair) removeRootNetworkObjects(root);
    }
    expect(fs.existsSync(claim)).toBe(false);
  });
});
