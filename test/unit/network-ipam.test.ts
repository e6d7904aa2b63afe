// The network store and IPAM against real files, locks and processes: subnet choice, Docker's
// checks of create, and allocations that reconcile against container records and owners.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocate, liveAllocations, release, transferToInit } from '../../src/network/ipam';
import { bridgeParams, NetworkStore } from '../../src/network/store';
import { layout, Roots } from '../../src/paths';
import { removeRootNetworkObjects, rootBridges } from '../support/network';

let roots: Roots;
let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'box-ipam-'));
  roots = { root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run') };
});
afterEach(() => {
  removeRootNetworkObjects(roots.root, roots.runroot);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A container record as far as IPAM looks: its directory with a container.json. */
function fakeContainer(n: number): string {
  const id = n.toString(16).padStart(64, 'c');
  fs.mkdirSync(layout.container(roots, id), { recursive: true });
  fs.writeFileSync(path.join(layout.container(roots, id), 'container.json'), '{}');
  return id;
}

describe('network store', () => {
  it('makes the predefined networks on first use, bridge with a subnet', async () => {
    const store = new NetworkStore(roots);
    const all = await store.list();
    expect(all.map((n) => [n.Name, n.Driver])).toEqual([
      ['bridge', 'bridge'],
      ['host', 'host'],
      ['none', 'null'],
    ]);
    expect(all[0].IPAM.Config[0].Subnet).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    expect((await store.list()).map((n) => n.Id)).toEqual(all.map((n) => n.Id)); // made once
  });

  it('gives each new network a subnet of its own and checks what the user gives', async () => {
    const store = new NetworkStore(roots);
    const a = await store.create({ name: 'a' });
    const b = await store.create({ name: 'b' });
    const subnets = (await store.list()).map((n) => n.IPAM.Config[0]?.Subnet).filter(Boolean);
    expect(new Set(subnets).size).toBe(subnets.length);
    expect(a.IPAM.Config[0].Gateway).toBe(a.IPAM.Config[0].Subnet.replace(/0\/24$/, '1'));
    await expect(store.create({ name: 'a' })).rejects.toThrow('network with name a already exists');
    await expect(store.create({ name: 'c', subnet: b.IPAM.Config[0].Subnet })).rejects.toThrow(/overlaps network b/);
    await expect(store.create({ name: 'c', subnet: '10.99.0.5/24' })).rejects.toThrow(/did you mean 10.99.0.0\/24/);
    await expect(store.create({ name: 'c', subnet: '10.99.0.0/24', gateway: '10.98.0.1' })).rejects.toThrow(
      /not a host address/,
    );
    await expect(store.create({ name: 'c', driver: 'overlay' })).rejects.toThrow(/not supported/);
    await expect(store.create({ name: '-x' })).rejects.toThrow(/invalid network name/);
    await expect(store.create({ name: 'c', options: { foo: '1' } })).rejects.toThrow(/unsupported network option/);
    const c = await store.create({
      name: 'c',
      subnet: '10.99.0.0/24',
      gateway: '10.99.0.254',
      ipRange: '10.99.0.128/25',
      options: { mtu: '1400', 'com.docker.network.bridge.name': 'br-c' },
    });
    expect(bridgeParams(roots, c)).toMatchObject({ bridge: 'br-c', mtu: 1400 });
    // network create makes the bridge (Docker's), so the next subnet choice sees its route
    expect(rootBridges(roots.root).sort()).toEqual(
      [
        'br-c',
        ...(await store.list())
          .filter((n) => n.Driver === 'bridge' && n.Name !== 'c')
          .map((n) => bridgeParams(roots, n).bridge),
      ].sort(),
    );
    expect((await store.get(c.Id.slice(0, 6))).Name).toBe('c');
  });
});

describe('subnet choice', () => {
  it('skips a subnet the host holds (an address on a link with noprefixroute, no route at all)', async () => {
    const other: Roots = { root: path.join(tmp, 'other'), runroot: path.join(tmp, 'other-run') };
    const first = (await new NetworkStore(other).create({ name: 'probe' })).IPAM.Config[0].Subnet;
    removeRootNetworkObjects(other.root, other.runroot); // its bridge goes: the subnet is free again
    const link = `bxt${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['link', 'add', link, 'type', 'bridge']);
    try {
      execFileSync('ip', ['addr', 'add', first.replace(/0\/24$/, '1/24'), 'dev', link, 'noprefixroute']);
      const next = (await new NetworkStore(roots).create({ name: 'n' })).IPAM.Config[0].Subnet;
      expect(next).not.toBe(first);
    } finally {
      execFileSync('ip', ['link', 'del', link]);
    }
  });
});

describe('IPAM', () => {
  it('hands out distinct addresses under concurrency, skipping network, gateway and broadcast', async () => {
    const net = await new NetworkStore(roots).create({ name: 'n', subnet: '10.98.0.0/24' });
    const ids = Array.from({ length: 100 }, (_, i) => fakeContainer(i));
    const got = await Promise.all(ids.map((containerId) => allocate(roots, net, { containerId })));
    const addrs = got.map((a) => a.address);
    expect(new Set(addrs).size).toBe(100);
    expect(addrs).not.toContain('10.98.0.0');
    expect(addrs).not.toContain('10.98.0.1');
    expect(liveAllocations(roots, net.Id).size).toBe(100);
    expect(got[0].mac).toMatch(/^02:42:0a:62:00:[0-9a-f]{2}$/);
  });

  it('reclaims the address of a dead owner and of a removed container, and honours --ip', async () => {
    const net = await new NetworkStore(roots).create({ name: 'n', subnet: '10.97.0.0/29' }); // .2 .. .6
    const [a, b, c] = [fakeContainer(1), fakeContainer(2), fakeContainer(3)];
    const child = spawn('sleep', ['60']);
    await new Promise((r) => child.once('spawn', r));
    const first = await allocate(roots, net, { containerId: a });
    await transferToInit(roots, net.Id, a, child.pid!);
    await allocate(roots, net, { containerId: b, ip: '10.97.0.6' });
    await expect(allocate(roots, net, { containerId: c, ip: '10.97.0.6' })).rejects.toThrow(
      /already in use on network n/,
    );
    await expect(allocate(roots, net, { containerId: c, ip: '10.97.1.6' })).rejects.toThrow(
      /not in network n's subnet/,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // a's owner died: its address is free again for the next allocation
    expect((await allocate(roots, net, { containerId: c, ip: first.address })).address).toBe(first.address);
    fs.rmSync(layout.container(roots, b), { recursive: true });
    expect((await allocate(roots, net, { containerId: a, ip: '10.97.0.6' })).address).toBe('10.97.0.6');
    await release(roots, net.Id, a);
    expect([...liveAllocations(roots, net.Id).keys()]).toEqual([c]);
  });

  it('refuses an allocation on a network removed meanwhile (network rm holds the same lock)', async () => {
    const store = new NetworkStore(roots);
    const net = await store.create({ name: 'going', subnet: '10.95.0.0/29' });
    store.removeRecord(net);
    await expect(allocate(roots, net, { containerId: fakeContainer(1) })).rejects.toThrow(
      'network going was removed: connect the container to another network',
    );
    expect(fs.existsSync(layout.network(roots, net.Id))).toBe(false); // nothing written back
  });

  it('an exhausted range is an error naming the network', async () => {
    const net = await new NetworkStore(roots).create({ name: 'tiny', subnet: '10.96.0.0/30' }); // only .2
    await allocate(roots, net, { containerId: fakeContainer(1) });
    await expect(allocate(roots, net, { containerId: fakeContainer(2) })).rejects.toThrow(
      /no free address left on network tiny/,
    );
  });
});
