// Bridges, veths, addresses and routes made by box's own netlink code (src/network/links.ts,
// attach.ts), checked with the kernel's view through `ip -j`. Processes in fresh network
// namespaces (`unshare -n sleep`) stand for containers; every name carries a random tag, and
// traffic flows only between those namespaces and a bridge this file made.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxError } from '../../src/errors';
import { Attachment, attachContainer, detachContainer } from '../../src/network/attach';
import {
  addAddress,
  deleteAddress,
  deleteLink,
  ensureBridge,
  getLink,
  linkIndex,
  listAddresses,
  listLinks,
  listRoutes,
  setRouteLocalnet,
} from '../../src/network/links';
import { REPO, until, waitForOutput } from '../support/box';
import { hostLinksStartingWith, ip, ipJson, NetnsProcess, nameTag, startNetnsProcess } from '../support/netns';

const tag = nameTag();
const BRIDGE = `bt${tag}`;
const SUBNET = '10.213.7'; // only ever used between this file's namespaces and its bridge
const GATEWAY_CIDR = `${SUBNET}.1/24`;
const hostEnd = (n: number | string) => `vt${tag}${n}`;

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

const processes: NetnsProcess[] = [];
async function container(): Promise<NetnsProcess> {
  const p = await startNetnsProcess();
  processes.push(p);
  return p;
}

function attachment(n: number, address: string, extra: Partial<Attachment> = {}): Attachment {
  return {
    bridge: BRIDGE,
    bridgeAddress: GATEWAY_CIDR,
    hostIfname: hostEnd(n),
    ifname: 'eth0',
    address,
    prefixLength: 24,
    gateway: `${SUBNET}.1`,
    mtu: 1400,
    defaultRoute: true,
    ...extra,
  };
}

/** The links of a netns other than lo: what an attach left there. */
function nonLoopback(pid: number): string[] {
  return ipJson<IpLink[]>(pid, ['link', 'show'])
    .map((l) => l.ifname)
    .filter((n) => n !== 'lo');
}

afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const name of hostLinksStartingWith(`vt${tag}`)) deleteLink(name);
  deleteLink(BRIDGE);
  expect(hostLinksStartingWith(`vt${tag}`)).toEqual([]);
  expect(hostLinksStartingWith(BRIDGE)).toEqual([]);
});

describe('bridges', () => {
  it('ensureBridge creates it up with its address and MTU, and a second call changes nothing', () => {
    const index = ensureBridge({ name: BRIDGE, address: GATEWAY_CIDR, mtu: 1400 });
    const [link] = ipJson<IpLink[]>(undefined, ['-d', 'link', 'show', BRIDGE]);
    expect(link.linkinfo?.info_kind).toBe('bridge');
    expect(link.mtu).toBe(1400);
    expect(link.flags).toContain('UP');
    expect(Number.parseInt(link.address.slice(0, 2), 16) & 0x03).toBe(0x02); // a fixed, locally administered MAC
    const [addr] = ipJson<IpAddr[]>(undefined, ['-4', 'addr', 'show', BRIDGE]);
    expect(addr.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([GATEWAY_CIDR]);

    expect(ensureBridge({ name: BRIDGE, address: GATEWAY_CIDR, mtu: 1400 })).toBe(index);
    const [again] = ipJson<IpLink[]>(undefined, ['link', 'show', BRIDGE]);
    expect(again.address).toBe(link.address);
    expect(ipJson<IpAddr[]>(undefined, ['-4', 'addr', 'show', BRIDGE])[0].addr_info).toHaveLength(1);
  });

  it('ensureBridge repairs a bridge set down, with another MTU, without its address', () => {
    ip(['link', 'set', BRIDGE, 'down', 'mtu', '1300']);
    ip(['addr', 'flush', 'dev', BRIDGE]);
    ensureBridge({ name: BRIDGE, address: GATEWAY_CIDR, mtu: 1400 });
    const [link] = ipJson<IpLink[]>(undefined, ['link', 'show', BRIDGE]);
    expect([link.mtu, link.flags.includes('UP')]).toEqual([1400, true]);
    expect(ipJson<IpAddr[]>(undefined, ['-4', 'addr', 'show', BRIDGE])[0].addr_info[0].local).toBe(`${SUBNET}.1`);
  });

  it('refuses a name held by a link that is not a bridge, in one line naming it', async () => {
    const p = await container();
    ip(['link', 'add', hostEnd('x'), 'type', 'veth', 'peer', 'name', 'eth9', 'netns', String(p.pid)]);
    try {
      expect(() => ensureBridge({ name: hostEnd('x'), address: '10.213.8.1/24', mtu: 1500 })).toThrow(
        new BoxError(`network interface ${hostEnd('x')} exists and is not a bridge (veth): choose another bridge name`),
      );
    } finally {
      expect(deleteLink(hostEnd('x'))).toBe(true);
    }
    expect(deleteLink(hostEnd('x'))).toBe(false);
  });

  it('lists links, addresses and routes as ip does', () => {
    // a veth pair of this file's beside its bridge; other links come and go with other test runs,
    // so only this file's (named with its tag) are compared
    ip(['link', 'add', hostEnd('la'), 'type', 'veth', 'peer', 'name', hostEnd('lb')]);
    const ours = (names: string[]) => names.filter((n) => n.includes(tag)).sort();
    const links = listLinks();
    const mine = links.find((l) => l.name === BRIDGE)!;
    expect(mine).toMatchObject({ kind: 'bridge', mtu: 1400, up: true, index: linkIndex(BRIDGE) });
    expect(links.find((l) => l.name === hostEnd('la'))).toMatchObject({
      kind: 'veth',
      index: linkIndex(hostEnd('la')),
    });
    const ipLinks = ipJson<IpLink[]>(undefined, ['link', 'show']).map((l) => l.ifname);
    expect(ours(links.map((l) => l.name))).toEqual(ours(ipLinks));
    expect(ours(ipLinks)).toEqual([BRIDGE, hostEnd('la'), hostEnd('lb')].sort());
    expect(deleteLink(hostEnd('la'))).toBe(true); // its peer goes with it
    expect(listAddresses(undefined, mine.index, 4)).toEqual([
      { family: 4, address: `${SUBNET}.1`, prefixLength: 24, index: mine.index },
    ]);
    const everywhere = listAddresses();
    expect(everywhere).toContainEqual({ family: 4, address: '127.0.0.1', prefixLength: 8, index: linkIndex('lo') });
    expect(everywhere.filter((a) => a.index === mine.index)).toEqual(listAddresses(undefined, mine.index));
    expect(listRoutes()).toContainEqual({ family: 4, destination: `${SUBNET}.0/24`, index: mine.index, table: 254 });

    addAddress(BRIDGE, `${SUBNET}.250/24`);
    expect(() => addAddress(BRIDGE, `${SUBNET}.250/24`)).toThrow(/^add address 10\.213\.7\.250\/24 to bt\w+: EEXIST/);
    deleteAddress(BRIDGE, `${SUBNET}.250/24`);
    expect(listAddresses(undefined, mine.index).map((a) => a.address)).not.toContain(`${SUBNET}.250`);
  });

  it('sets route_localnet on the bridge through /proc/sys', () => {
    const file = `/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`;
    setRouteLocalnet(BRIDGE, true);
    expect(execFileSync('cat', [file], { encoding: 'utf8' }).trim()).toBe('1');
    setRouteLocalnet(BRIDGE, false);
    expect(execFileSync('cat', [file], { encoding: 'utf8' }).trim()).toBe('0');
  });
});

describe('attachContainer', () => {
  let a: NetnsProcess;
  let b: NetnsProcess;
  beforeAll(async () => {
    a = await container();
    b = await container();
  });

  it('gives the container eth0 with its address, MTU, MAC and default route, its host end in the bridge', () => {
    const result = attachContainer(a.pid, attachment(1, `${SUBNET}.2`, { mac: '02:42:0a:d5:07:02' }));
    expect(result.mac).toBe('02:42:0a:d5:07:02');
    const [eth0] = ipJson<IpLink[]>(a.pid, ['link', 'show', 'eth0']);
    expect(eth0).toMatchObject({ mtu: 1400, address: '02:42:0a:d5:07:02' });
    expect(eth0.flags).toContain('UP');
    const [addr] = ipJson<IpAddr[]>(a.pid, ['-4', 'addr', 'show', 'eth0']);
    expect(addr.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toEqual([`${SUBNET}.2/24`]);
    expect(ipJson<IpRoute[]>(a.pid, ['-4', 'route', 'show', 'default'])).toEqual([
      expect.objectContaining({ dst: 'default', gateway: `${SUBNET}.1`, dev: 'eth0' }),
    ]);
    const [end] = ipJson<IpLink[]>(undefined, ['-d', 'link', 'show', hostEnd(1)]);
    expect(end).toMatchObject({ master: BRIDGE, mtu: 1400 });
    expect(end.flags).toContain('UP');
    expect(end.linkinfo?.info_slave_data?.hairpin).toBe(true);
  });

  it('lets two containers on the bridge reach each other and their gateway', () => {
    const { mac } = attachContainer(b.pid, attachment(2, `${SUBNET}.3`, { defaultRoute: false }));
    expect(ipJson<IpLink[]>(b.pid, ['link', 'show', 'eth0'])[0].address).toBe(mac);
    expect(ipJson<IpRoute[]>(b.pid, ['-4', 'route', 'show', 'default'])).toEqual([]);
    const ping = (pid: number, to: string) =>
      execFileSync('nsenter', ['-t', String(pid), '-n', 'busybox', 'ping', '-c', '1', '-W', '5', to], {
        encoding: 'utf8',
      });
    expect(ping(a.pid, `${SUBNET}.3`)).toMatch(/1 packets received/);
    expect(ping(b.pid, `${SUBNET}.2`)).toMatch(/1 packets received/);
    expect(ping(a.pid, `${SUBNET}.1`)).toMatch(/1 packets received/);
  });

  it('detachContainer removes both ends; a second time, or for a dead process, there is nothing to do', async () => {
    expect(detachContainer(b.pid, 'eth0')).toBe(true);
    expect(nonLoopback(b.pid)).toEqual([]);
    expect(hostLinksStartingWith(hostEnd(2))).toEqual([]);
    expect(detachContainer(b.pid, 'eth0')).toBe(false);
    const gone = await container();
    await gone.stop();
    expect(detachContainer(gone.pid, 'eth0')).toBe(false);
  });

  it('leaves no veth when the container process dies', async () => {
    const c = await container();
    attachContainer(c.pid, attachment(3, `${SUBNET}.4`));
    expect(hostLinksStartingWith(hostEnd(3))).toEqual([hostEnd(3)]);
    await c.stop();
    until(
      `${hostEnd(3)} gone with its namespace`,
      () => hostLinksStartingWith(hostEnd(3)),
      (l) => l.length === 0,
    );
  });

  it('a failure midway (a gateway outside the subnet) removes the pair it made, names the step', async () => {
    const c = await container();
    expect(() => attachContainer(c.pid, attachment(4, `${SUBNET}.5`, { gateway: '10.213.99.1' }))).toThrow(
      /^add route default via 10\.213\.99\.1 dev \d+: ENETUNREACH/,
    );
    expect(hostLinksStartingWith(hostEnd(4))).toEqual([]);
    expect(nonLoopback(c.pid)).toEqual([]);
  });

  it('a host end name already taken fails before anything is made, and the other link stays', async () => {
    const c = await container();
    const holder = await container();
    ip(['link', 'add', hostEnd(5), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(holder.pid)]);
    expect(() => attachContainer(c.pid, attachment(5, `${SUBNET}.6`))).toThrow(
      new RegExp(`^create veth ${hostEnd(5)} \\(peer eth0 in the netns of process ${c.pid}\\): EEXIST`),
    );
    expect(getLink(hostEnd(5))).toBeDefined();
    expect(nonLoopback(c.pid)).toEqual([]);
    expect(nonLoopback(holder.pid)).toEqual(['eth0']);
  });

  it('a bridge with 1023 ports refuses the next in one line naming the bridge, leaving nothing', async () => {
    const full = `bf${tag}`;
    const ports = await container(); // the peers live here: its death removes all 1023 pairs at once
    const batch = [`link add ${full} type bridge`];
    for (let i = 1; i <= 1023; i++)
      batch.push(
        `link add vf${tag}${i} type veth peer name p${i} netns ${ports.pid}`,
        `link set vf${tag}${i} master ${full}`,
      );
    execFileSync('ip', ['-batch', '-'], { input: batch.join('\n') });
    try {
      const c = await container();
      let error: unknown;
      try {
        attachContainer(c.pid, { ...attachment(6, '10.213.9.2'), bridge: full, bridgeAddress: '10.213.9.1/24' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(BoxError);
      // A dump that spans many datagrams (multipart, up to NLMSG_DONE) sees every port.
      expect(listLinks().filter((l) => l.master === full)).toHaveLength(1023);
      expect((error as Error).message).toBe(
        `bridge ${full} already has 1023 ports, the most a Linux bridge takes: put further containers on another network`,
      );
      expect(hostLinksStartingWith(hostEnd(6))).toEqual([]);
      expect(nonLoopback(c.pid)).toEqual([]);
    } finally {
      await ports.stop();
      until(
        'the 1023 test ports gone',
        () => hostLinksStartingWith(`vf${tag}`),
        (l) => l.length === 0,
        30_000,
      );
      deleteLink(full);
    }
  });
});

describe('ensureBridge from many processes at once', () => {
  const names = Array.from({ length: 24 }, (_, i) => `bc${tag}${i}`);
  const cidrOf = (i: number) => `10.213.${100 + i}.1/24`;
  let tmp: string;
  afterAll(() => {
    for (const name of names) deleteLink(name);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('makes each bridge once, with one address, whoever wins each race', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-links-'));
    const entry = path.join(tmp, 'ensure.ts');
    // Each process says "ready", waits for the start time it is given on stdin and spins until then
    // (so all run in step, racing for every bridge), then ensures every bridge in turn.
    fs.writeFileSync(
      entry,
      `import { ensureBridge, hostRoute } from ${JSON.stringify(path.join(REPO, 'src/network/links'))};
       const specs = JSON.parse(process.argv[2]);
       hostRoute();
       process.stdout.write('ready\\n');
       process.stdin.once('data', (d) => {
         const start = Number(String(d));
         while (Date.now() < start);
         const indexes = specs.map((s: { name: string; address: string }) => ensureBridge({ ...s, mtu: 1450 }));
         process.stdout.write(JSON.stringify(indexes) + '\\n');
         process.exit(0);
       });`,
    );
    const bundle = path.join(tmp, 'ensure.cjs');
    await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', outfile: bundle, external: ['koffi'] });
    const specs = JSON.stringify(names.map((name, i) => ({ name, address: cidrOf(i) })));
    const env = { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') };
    const children = Array.from({ length: 3 }, () => spawn(process.execPath, [bundle, specs], { env }));
    const outputs = children.map((c) => {
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (out += d));
      return new Promise<{ code: number | null; out: string }>((resolve) =>
        c.on('close', (code) => resolve({ code, out })),
      );
    });
    await Promise.all(children.map((c) => waitForOutput(c.stdout, 'ready')));
    const start = Date.now() + 200;
    for (const c of children) c.stdin.write(`${start}\n`);
    const results = await Promise.all(outputs);
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    const expected = JSON.stringify(names.map((n) => linkIndex(n)));
    for (const r of results) expect(r.out.trim().split('\n').pop()).toBe(expected);
    names.forEach((name, i) => {
      const [link] = ipJson<IpLink[]>(undefined, ['link', 'show', name]);
      expect([link.mtu, link.flags.includes('UP')]).toEqual([1450, true]);
      const [addr] = ipJson<IpAddr[]>(undefined, ['-4', 'addr', 'show', name]);
      expect(addr.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([cidrOf(i)]);
    });
  });
});

describe('attachContainer timing', () => {
  it('takes a few milliseconds (median of 20, printed for the record)', async () => {
    const c = await container();
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = process.hrtime.bigint();
      attachContainer(c.pid, attachment(100 + i, `${SUBNET}.${100 + i}`));
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      expect(detachContainer(c.pid, 'eth0')).toBe(true);
    }
    times.sort((x, y) => x - y);
    const median = (times[9] + times[10]) / 2;
    console.log(
      `attachContainer: median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)}, max ${times[19].toFixed(2)}`,
    );
    expect(median).toBeLessThan(200);
  });
});
