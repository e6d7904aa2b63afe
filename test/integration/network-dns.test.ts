// A network's DNS responder (src/network/dns), against the real kernel: a test bridge with a
// gateway address plays the network, processes in their own network namespaces (veth to the
// bridge) play its containers and ask from there. The host's resolvers are a test server on a
// loopback address (BOX_HOST_RESOLV_CONF), never a real one: traffic stays on loopback and on
// the bridges and namespaces the test made.
import { execFile, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairResponders } from '../../src/network/dns/containers';
import { ensureResponder, stopResponder } from '../../src/network/dns/ensure';
import { publishNames, reconcileNames, unpublishNames } from '../../src/network/dns/names';
import { liveResponder } from '../../src/network/dns/pid-file';
import { ResponderStatus } from '../../src/network/dns/status';
import type { NetworkRecord } from '../../src/network/store';
import { featurePaths, layout, resolveRoots, Roots } from '../../src/paths';
import { ownerAlive } from '../../src/util/owner';
import { BOX, REPO, TestRoot } from '../support/box';
import { boxProcessesOf } from '../support/inventory';
import { ip, NetnsProcess, nameTag, startNetnsProcess } from '../support/netns';

const CLIENT = path.join(REPO, 'test', 'support', 'dns-client.mjs');

interface Reply {
  rcode?: string;
  authoritative?: boolean;
  truncated?: boolean;
  answers?: string[];
  sent?: number;
  answered?: number;
  error?: string;
}

/** A free /24 in 10.200-249.x.0 (not in the host's routes), its gateway .1. */
function freeSubnet(): string {
  const routes = ip(['-4', 'route', 'show', 'table', 'all']);
  for (;;) {
    const prefix = `10.${200 + crypto.randomInt(50)}.${crypto.randomInt(256)}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
}

/** A bridge with a gateway address: a network as the responder sees it. */
class TestNetwork {
  readonly id = crypto.randomBytes(32).toString('hex');
  readonly tag = nameTag();
  readonly bridge = `bxd${this.tag}`;
  readonly prefix = freeSubnet();
  readonly gateway = `${this.prefix}.1`;
  private readonly members: NetnsProcess[] = [];
  constructor(readonly name: string) {
    ip(['link', 'add', this.bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    ip(['link', 'set', this.bridge, 'up']);
  }

  get dns() {
    return { id: this.id, name: this.name, gateway: `${this.gateway}/24` };
  }

  /** A namespace on the bridge with address .<host>, standing for a container. */
  async member(host: number): Promise<NetnsProcess> {
    const ns = await startNetnsProcess();
    this.members.push(ns);
    const veth = `vd${this.tag}${this.members.length}`;
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(ns.pid)]);
    ip(['link', 'set', veth, 'master', this.bridge, 'up']);
    ip(['addr', 'add', `${this.prefix}.${host}/24`, 'dev', 'eth0'], ns.pid);
    ip(['link', 'set', 'eth0', 'up'], ns.pid);
    ip(['link', 'set', 'lo', 'up'], ns.pid);
    return ns;
  }

  async remove(): Promise<void> {
    for (const m of this.members) await m.stop(); // each veth goes with its namespace
    spawnSync('ip', ['link', 'del', this.bridge]);
  }
}

/** Runs the test DNS client in `from`'s network namespace (asynchronously: the test's upstream must keep answering). */
function ask(from: NetnsProcess, server: string, name: string, type = 'A', ...more: string[]): Promise<Reply> {
  return new Promise((resolve) => {
    execFile(
      'nsenter',
      ['-t', String(from.pid), '-n', process.execPath, CLIENT, server, name, type, ...more],
      { encoding: 'utf8', timeout: 30_000 },
      (_err, stdout) => resolve(JSON.parse(stdout.trim().split('\n').pop() || '{"error":"no output"}') as Reply),
    );
  });
}

/** A stand-in for the host's resolver on a loopback address: `*.example.test` -> 192.0.2.N, the rest NXDOMAIN. */
class Upstream {
  readonly address = `127.${1 + crypto.randomInt(250)}.${crypto.randomInt(256)}.${1 + crypto.randomInt(250)}`;
  readonly asked: string[] = [];
  private udp = dgram.createSocket('udp4');
  private tcp = net.createServer();

  async start(): Promise<void> {
    this.udp.on('message', (msg, from) => {
      // *.slow.test: never answered, as a resolver that is down
      if (!dnsPacket.decode(msg).questions![0].name.endsWith('.slow.test')) {
        this.udp.send(this.answer(msg), from.port, from.address);
      }
    });
    this.tcp.on('connection', (s) =>
      s.on('data', (d) => {
        const out = this.answer(d.subarray(2));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length);
        s.end(Buffer.concat([len, out]));
      }),
    );
    await new Promise<void>((resolve) => this.udp.bind(53, this.address, resolve));
    await new Promise<void>((resolve) => this.tcp.listen(53, this.address, resolve));
  }

  private answer(msg: Buffer): Buffer {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0].name;
    this.asked.push(name);
    const known = /\.example\.test$/.test(name);
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: known ? 0 : 3,
      questions: q.questions,
      answers: known ? [{ name, type: 'A', class: 'IN', ttl: 60, data: `192.0.2.${name.length}` }] : [],
    });
  }

  stop(): void {
    this.udp.close();
    this.tcp.close();
  }
}

async function waitFor(what: string, done: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} never happened`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Processes running `box internal dns` for a network. */
function responderPids(networkId: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`\0internal\0dns\0${networkId}\0`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const short = (id: string) => id.slice(0, 12);
const containerId = () => crypto.randomBytes(32).toString('hex');

describe('network DNS responder', () => {
  const t = new TestRoot('box-dns-');
  let roots: Roots;
  let command: string[];
  const upstream = new Upstream();
  const networks: TestNetwork[] = [];
  const resolvConf = () => path.join(t.dir, 'host-resolv.conf');

  beforeAll(async () => {
    roots = resolveRoots({ root: t.root });
    command = [BOX, '--root', roots.root, '--runroot', roots.runroot];
    await upstream.start();
    fs.writeFileSync(resolvConf(), `# the test's stand-in\nnameserver ${upstream.address}\n`);
    process.env.BOX_HOST_RESOLV_CONF = resolvConf();
  });

  afterAll(async () => {
    for (const n of networks) await stopResponder(roots, n.id);
    for (const n of networks) await n.remove();
    upstream.stop();
    delete process.env.BOX_HOST_RESOLV_CONF;
    expect(boxProcessesOf(t)).toEqual([]);
    t.cleanup();
  });

  function network(name: string): TestNetwork {
    const n = new TestNetwork(name);
    networks.push(n);
    return n;
  }

  it('answers names, aliases and short ids from a container of the network, not those of another network', async () => {
    const app = network('app-net');
    const other = network('other-net');
    const db = containerId();
    const web = containerId();
    const elsewhere = containerId();
    await publishNames(roots, app.id, {
      containerId: db,
      names: ['db', 'database', short(db)],
      ipv4: `${app.prefix}.3`,
    });
    await publishNames(roots, app.id, { containerId: web, names: ['web', short(web)], ipv4: `${app.prefix}.4` });
    await publishNames(roots, other.id, { containerId: elsewhere, names: ['cache'], ipv4: `${other.prefix}.3` });
    await ensureResponder(roots, app.dns, { command });
    // a bare gateway: the responder takes the subnet from the address's interface
    await ensureResponder(roots, { ...other.dns, gateway: other.gateway }, { command });
    const client = await app.member(10);
    const outsider = await other.member(10);

    // busybox's nslookup, a real client, as a container would use it
    const lookup = spawnSync('nsenter', ['-t', String(client.pid), '-n', 'busybox', 'nslookup', 'db', app.gateway], {
      encoding: 'utf8',
    });
    expect(lookup.stdout).toContain(`Address: ${app.prefix}.3`);

    // glibc's resolver (getent hosts: A and AAAA at once on one socket), its resolv.conf naming
    // the gateway in a mount namespace of its own
    const conf = path.join(t.dir, `resolv-${app.tag}.conf`);
    fs.writeFileSync(conf, `nameserver ${app.gateway}\n`);
    const script = 'mount --bind "$0" /etc/resolv.conf && getent hosts web database';
    const getent = spawnSync('nsenter', ['-t', String(client.pid), '-n', 'unshare', '-m', 'sh', '-c', script, conf], {
      encoding: 'utf8',
    });
    expect(getent.stdout.split('\n').map((l) => l.split(/\s+/)[0])).toEqual([`${app.prefix}.4`, `${app.prefix}.3`, '']);

    expect(await ask(client, app.gateway, 'db')).toMatchObject({ rcode: 'NOERROR', answers: [`${app.prefix}.3`] });
    expect(await ask(client, app.gateway, 'DataBase.App-Net.')).toMatchObject({ answers: [`${app.prefix}.3`] });
    expect(await ask(client, app.gateway, short(web))).toMatchObject({ answers: [`${app.prefix}.4`] });
    expect(await ask(client, app.gateway, 'web', 'A', '--tcp')).toMatchObject({ answers: [`${app.prefix}.4`] });
    // a container's name has no IPv6 address: NODATA, so a client asking AAAA first moves on at once
    expect(await ask(client, app.gateway, 'db', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    const reverse = `4.${app.prefix.split('.').reverse().join('.')}.in-addr.arpa`;
    expect(await ask(client, app.gateway, reverse, 'PTR')).toMatchObject({ answers: ['web.app-net'] });

    // the other network's names are unknown here, and this network's there
    expect(await ask(client, app.gateway, 'cache')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(await ask(outsider, other.gateway, 'db')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(await ask(outsider, other.gateway, 'cache')).toMatchObject({ answers: [`${other.prefix}.3`] });
    // asked directly, another network's responder refuses a client outside its subnet
    ip(['route', 'add', 'default', 'via', other.gateway], outsider.pid);
    expect(await ask(outsider, app.gateway, 'db')).toMatchObject({ rcode: 'REFUSED', answers: [] });
    const overTcp = await ask(outsider, app.gateway, 'db', 'A', '--tcp');
    expect(overTcp).toMatchObject({ error: expect.stringMatching(/closed without an answer|ECONNRESET/) });
    ip(['route', 'add', 'default', 'via', app.gateway], client.pid);
    expect(await ask(client, other.gateway, 'cache')).toMatchObject({ rcode: 'REFUSED', answers: [] });
    // unknown single-label names and names under the network's domain never go to the host's resolvers
    expect(await ask(client, app.gateway, 'nosuchname')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(await ask(client, app.gateway, 'nosuch.app-net')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(upstream.asked.filter((n) => /nosuch|cache|db/.test(n))).toEqual([]);
  });

  it('sees a change of the names at once, and drops no query while names change', async () => {
    const n = network('churn');
    const first = containerId();
    await publishNames(roots, n.id, { containerId: first, names: ['first'], ipv4: `${n.prefix}.3` });
    await ensureResponder(roots, n.dns, { command });
    const client = await n.member(10);

    const second = containerId();
    await publishNames(roots, n.id, { containerId: second, names: ['second'], ipv4: `${n.prefix}.5` });
    expect(await ask(client, n.gateway, 'second')).toMatchObject({ answers: [`${n.prefix}.5`] });
    await publishNames(roots, n.id, { containerId: second, names: ['second'], ipv4: `${n.prefix}.6` });
    expect(await ask(client, n.gateway, 'second')).toMatchObject({ answers: [`${n.prefix}.6`] });
    await unpublishNames(roots, n.id, second);
    expect(await ask(client, n.gateway, 'second')).toMatchObject({ rcode: 'NXDOMAIN' });

    // 300 queries over 1.5 s while another container comes and goes 30 times: every one answered
    const burst = ask(client, n.gateway, 'first', 'A', '--count', '300', '--spread', '1500');
    for (let i = 0; i < 30; i++) {
      await publishNames(roots, n.id, { containerId: second, names: [`churn${i}`], ipv4: `${n.prefix}.7` });
      await unpublishNames(roots, n.id, second);
    }
    expect(await burst).toEqual({ sent: 300, answered: 300 });
  });

  it("forwards other names to the host's resolvers, over UDP and TCP", async () => {
    const n = network('fwd');
    await publishNames(roots, n.id, { containerId: containerId(), names: ['here'], ipv4: `${n.prefix}.3` });
    await ensureResponder(roots, n.dns, { command });
    const client = await n.member(10);
    expect(await ask(client, n.gateway, 'www.example.test')).toMatchObject({
      rcode: 'NOERROR',
      authoritative: false,
      answers: ['192.0.2.16'],
    });
    expect(await ask(client, n.gateway, 'a.example.test', 'A', '--tcp')).toMatchObject({ answers: ['192.0.2.14'] });
    expect(await ask(client, n.gateway, 'gone.elsewhere.test')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(upstream.asked).toEqual(
      expect.arrayContaining(['www.example.test', 'a.example.test', 'gone.elsewhere.test']),
    );
  });

  it('answers its names at once while a flood of queries waits for a resolver that is down', async () => {
    const n = network('flood');
    await publishNames(roots, n.id, { containerId: containerId(), names: ['here'], ipv4: `${n.prefix}.3` });
    await ensureResponder(roots, n.dns, { command });
    const client = await n.member(10);
    const flood = ask(client, n.gateway, 'x.slow.test', 'A', '--count', '600', '--spread', '500', '--timeout', '6000');
    let floodDone = false;
    void flood.then(() => (floodDone = true));
    // the responder's descriptors: a socket per forward in flight, at most 512 (the rest SERVFAIL at once)
    const pid = liveResponder(roots, n.id)!.pid;
    const fds = () => fs.readdirSync(`/proc/${pid}/fd`).length;
    await waitFor('the flood is in flight', () => fds() > 400);
    const started = Date.now();
    expect(await ask(client, n.gateway, 'here')).toMatchObject({ answers: [`${n.prefix}.3`] });
    expect(Date.now() - started).toBeLessThan(1500); // a node start, not a forward's 1.5 s
    let peak = 0;
    await waitFor('the flood is answered', () => {
      peak = Math.max(peak, fds());
      return floodDone;
    });
    expect(peak).toBeLessThan(512 + 40);
    expect(await flood).toEqual({ sent: 600, answered: 600 });
  });

  it('outlives a names file that is not JSON, and answers again once box writes it anew', async () => {
    const n = network('garbled');
    const c = containerId();
    await publishNames(roots, n.id, { containerId: c, names: ['before'], ipv4: `${n.prefix}.3` });
    await ensureResponder(roots, n.dns, { command });
    const live = liveResponder(roots, n.id)!;
    const client = await n.member(10);
    fs.writeFileSync(featurePaths.dnsNames(roots, n.id), '{"entries": [tru');
    expect(await ask(client, n.gateway, 'before')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(await ask(client, n.gateway, 'before', 'A', '--tcp')).toMatchObject({ rcode: 'NXDOMAIN' });
    await publishNames(roots, n.id, { containerId: c, names: ['after'], ipv4: `${n.prefix}.3` });
    expect(await ask(client, n.gateway, 'after')).toMatchObject({ answers: [`${n.prefix}.3`] });
    expect(liveResponder(roots, n.id)?.pid).toBe(live.pid);
  });

  it('flags a UDP answer too long for the client as truncated, and gives it whole over TCP', async () => {
    const n = network('many');
    for (let i = 0; i < 40; i++) {
      const ipv4 = `${n.prefix}.${20 + i}`;
      await publishNames(roots, n.id, { containerId: containerId(), names: [`w${i}`, 'worker'], ipv4 });
    }
    await ensureResponder(roots, n.dns, { command });
    const client = await n.member(10);
    // 40 A records are more than 512 bytes: no EDNS0 from this client, so UDP says TC and nothing more
    expect(await ask(client, n.gateway, 'worker')).toMatchObject({ rcode: 'NOERROR', truncated: true, answers: [] });
    const whole = await ask(client, n.gateway, 'worker', 'A', '--tcp');
    expect(whole.answers).toHaveLength(40);
    expect(whole).toMatchObject({ truncated: false });
  });

  it('forwards nothing from an internal network', async () => {
    const n = network('inside');
    await publishNames(roots, n.id, { containerId: containerId(), names: ['here'], ipv4: `${n.prefix}.3` });
    await ensureResponder(roots, { ...n.dns, internal: true }, { command });
    const client = await n.member(10);
    expect(await ask(client, n.gateway, 'here')).toMatchObject({ answers: [`${n.prefix}.3`] });
    expect(await ask(client, n.gateway, 'inside.example.test')).toMatchObject({ rcode: 'SERVFAIL', answers: [] });
    expect(upstream.asked).not.toContain('inside.example.test');
  });

  it('ends by itself once its network has no names, and leaves nothing behind', async () => {
    const n = network('empty');
    const only = containerId();
    await publishNames(roots, n.id, { containerId: only, names: ['only'], ipv4: `${n.prefix}.3` });
    let started = Date.now();
    await ensureResponder(roots, n.dns, { command });
    const cold = Date.now() - started;
    started = Date.now();
    await ensureResponder(roots, n.dns, { command });
    console.log(`ensureResponder: ${cold} ms starting a responder, ${Date.now() - started} ms finding it running`);
    const live = liveResponder(roots, n.id)!;
    expect(live).toBeDefined();
    await unpublishNames(roots, n.id, only);
    await waitFor('the responder ends', () => !ownerAlive(live.token));
    expect(fs.existsSync(layout.runNetwork(roots, n.id))).toBe(false);
  });

  it('a killed responder is replaced by the next ensureResponder; concurrent ones start one between them', async () => {
    const n = network('kill');
    const db = containerId();
    await publishNames(roots, n.id, { containerId: db, names: ['db'], ipv4: `${n.prefix}.3` });
    await Promise.all([1, 2, 3].map(() => ensureResponder(roots, n.dns, { command })));
    const first = liveResponder(roots, n.id)!;
    expect(responderPids(n.id)).toEqual([first.pid]);
    // box info reports it, with its memory
    const info = JSON.parse(t.box(['info', '--format', 'json']).stdout) as { dnsResponders: ResponderStatus[] };
    const shown = info.dnsResponders.find((r) => r.networkId === n.id)!;
    expect(shown).toMatchObject({ pid: first.pid, address: n.gateway });
    expect(shown.privateBytes).toBeGreaterThan(0);
    expect(shown.rssBytes).toBeGreaterThan(shown.privateBytes);
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(`DNS responder: ${mib(shown.rssBytes)} MiB resident, ${mib(shown.privateBytes)} MiB its own`);

    process.kill(first.pid, 'SIGKILL');
    await waitFor('the killed responder is gone', () => !ownerAlive(first.token));
    const client = await n.member(10);
    expect(await ask(client, n.gateway, 'db', 'A', '--timeout', '500')).toMatchObject({ error: 'timeout' });
    await ensureResponder(roots, n.dns, { command });
    const second = liveResponder(roots, n.id)!;
    expect(second.pid).not.toBe(first.pid);
    expect(await ask(client, n.gateway, 'db')).toMatchObject({ answers: [`${n.prefix}.3`] });
  });

  it('repairResponders starts again the responder of a network that still has names', async () => {
    const n = network('repair');
    await publishNames(roots, n.id, { containerId: containerId(), names: ['db'], ipv4: `${n.prefix}.3` });
    const record = {
      Id: n.id,
      Name: n.name,
      Driver: 'bridge',
      Internal: false,
      IPAM: { Config: [{ Subnet: `${n.prefix}.0/24`, Gateway: n.gateway }] },
    } as unknown as NetworkRecord;
    expect(await repairResponders(roots, [record], { command })).toEqual(['repair']);
    const first = liveResponder(roots, n.id)!;
    expect(await repairResponders(roots, [record], { command })).toEqual([]); // running: left alone
    process.kill(first.pid, 'SIGKILL');
    await waitFor('the killed responder is gone', () => !ownerAlive(first.token));
    expect(await repairResponders(roots, [record], { command })).toEqual(['repair']);
    const client = await n.member(10);
    expect(await ask(client, n.gateway, 'db')).toMatchObject({ answers: [`${n.prefix}.3`] });
  });

  it('says why when the responder cannot listen (no such address on the host)', async () => {
    const id = crypto.randomBytes(32).toString('hex');
    const nowhere = { id, name: 'nowhere', gateway: `${freeSubnet()}.1/24` };
    const only = containerId();
    await publishNames(roots, id, { containerId: only, names: ['x'], ipv4: '10.0.0.2' });
    await expect(ensureResponder(roots, nowhere, { command })).rejects.toThrow(
      /DNS responder of network nowhere did not start: .*cannot listen on .* port 53.*no such address/,
    );
    expect(responderPids(id)).toEqual([]);
    expect(fs.existsSync(featurePaths.dnsLog(roots, id))).toBe(false);
    await unpublishNames(roots, id, only);
  });

  it('says why when another process holds port 53 on the gateway', async () => {
    const n = network('taken');
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(53, n.gateway, resolve));
    try {
      const only = containerId();
      await publishNames(roots, n.id, { containerId: only, names: ['x'], ipv4: `${n.prefix}.3` });
      await expect(ensureResponder(roots, n.dns, { command })).rejects.toThrow(
        /DNS responder of network taken did not start: cannot listen on .* port 53 .*another process holds it/,
      );
      expect(responderPids(n.id)).toEqual([]);
      await unpublishNames(roots, n.id, only);
    } finally {
      squatter.close();
    }
  });

  it('reconcile drops the names of containers that no longer exist', async () => {
    const n = network('reconcile');
    const alive = containerId();
    const dead = containerId();
    await publishNames(roots, n.id, { containerId: alive, names: ['alive'], ipv4: `${n.prefix}.3` });
    await publishNames(roots, n.id, { containerId: dead, names: ['dead'], ipv4: `${n.prefix}.4` });
    expect(await reconcileNames(roots, n.id, (id) => id === alive)).toEqual([dead]);
    const file = JSON.parse(fs.readFileSync(featurePaths.dnsNames(roots, n.id), 'utf8'));
    expect(file.entries.map((e: { names: string[] }) => e.names)).toEqual([['alive']]);
    await unpublishNames(roots, n.id, alive);
    expect(fs.existsSync(featurePaths.dnsNames(roots, n.id))).toBe(false);
  });
});
