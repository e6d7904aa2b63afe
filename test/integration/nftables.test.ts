// box's nftables table against the real kernel: read back with `nft`, and traffic through it
// between namespaces and bridges this file makes (test/support/net-lab.ts), the host's loopback
// included. The table has a name of its own, so it never meets another root's table.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTable } from '../../src/network/nft-ruleset';
import { listFlows } from '../../src/network/conntrack';
import {
  applyTable,
  appliedTag,
  commitBatch,
  portsPublishedByOtherTables,
  removeTable,
  tableMessages,
} from '../../src/network/nftables';
import { newRule, NFPROTO_INET } from '../../src/network/nft-wire';
import { jump } from '../../src/network/nft-expr';
import type { BoxRuleset } from '../../src/network/nftables';
import { hostPortsFor } from '../../src/network/ports';
import { Namespace, NetLab } from '../support/net-lab';
import { ip } from '../support/netns';

const lab = new NetLab();
const table = `boxt-${lab.tag}`;
const other = `nl${lab.tag}other`; // stands for Docker's or podman's table

/** The table's text listing, counters zeroed (traffic changes them) */
function listing(name = table): string {
  return execFileSync('nft', ['list', 'table', 'inet', name], { encoding: 'utf8' }).replace(
    /counter packets \d+ bytes \d+/g,
    'counter',
  );
}

function tableHandle(name: string): number {
  const json = JSON.parse(execFileSync('nft', ['-j', '-a', 'list', 'table', 'inet', name], { encoding: 'utf8' }));
  return (json.nftables as { table?: { handle: number } }[]).find((o) => o.table)!.table!.handle;
}

function tableExists(name: string): boolean {
  return spawnSync('nft', ['list', 'table', 'inet', name], { stdio: 'ignore' }).status === 0;
}

/** Packets counted by the rule of `chain` whose text starts with `prefix`. */
function packets(chain: string, prefix: string): number {
  const out = execFileSync('nft', ['list', 'chain', 'inet', table, chain], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.trim().startsWith(prefix));
  if (!line) throw new Error(`no rule "${prefix}" in chain ${chain}:\n${out}`);
  return Number(/counter packets (\d+)/.exec(line)![1]);
}

let open1: string; // bridge of an ordinary network (10.A.1.0/24)
let open2: string; // another network's bridge (10.A.2.0/24)
let internal: string; // an --internal network's bridge (10.A.3.0/24)
let c1: Namespace; // a container on open1, serving tcp/80 and udp/53
let c1b: Namespace; // a second container on open1
let c2: Namespace; // a container on open2, serving tcp/80
let c3: Namespace; // a container on the internal network, serving tcp/80
let c3b: Namespace; // a second container on the internal network
let world: Namespace & { hostAddress: string }; // another machine: a client, and a server on tcp/9000
let ruleset: BoxRuleset;
const port = { any: 21000 + Math.floor(Math.random() * 1000), loopback: 0, hostIp: 0, udp: 0 };
port.loopback = port.any + 1;
port.hostIp = port.any + 2;
port.udp = port.any + 3;

beforeAll(async () => {
  const otherTable = ['chain forward {', 'type filter hook forward priority 0; policy accept;', 'counter', '}'];
  execFileSync('nft', ['-f', '-'], { input: `table inet ${other} {\n${otherTable.join('\n')}\n}\n` });
  open1 = lab.bridge(1);
  open2 = lab.bridge(2);
  internal = lab.bridge(3);
  c1 = await lab.container(open1, 1, 2);
  c1b = await lab.container(open1, 1, 3);
  c2 = await lab.container(open2, 2, 2);
  c3 = await lab.container(internal, 3, 2);
  c3b = await lab.container(internal, 3, 3);
  world = await lab.outside(4);
  await lab.server(c1.pid, 'tcp', 80);
  await lab.server(c1.pid, 'udp', 53);
  await lab.server(c2.pid, 'tcp', 80);
  await lab.server(c3.pid, 'tcp', 80);
  await lab.server(world.pid, 'tcp', 9000);
  ruleset = {
    networks: [
      { bridge: open1, subnet: `${lab.addr(1, 0)}/24`, internal: false },
      { bridge: open2, subnet: `${lab.addr(2, 0)}/24`, internal: false },
      { bridge: internal, subnet: `${lab.addr(3, 0)}/24`, internal: true },
    ],
    ports: [
      { hostPort: port.any, containerIp: c1.address, containerPort: 80, protocol: 'tcp', bridge: open1 },
      {
        hostIp: '127.0.0.1',
        hostPort: port.loopback,
        containerIp: c1.address,
        containerPort: 80,
        protocol: 'tcp',
        bridge: open1,
      },
      {
        hostIp: world.hostAddress,
        hostPort: port.hostIp,
        containerIp: c1.address,
        containerPort: 80,
        protocol: 'tcp',
        bridge: open1,
      },
      { hostPort: port.udp, containerIp: c1.address, containerPort: 53, protocol: 'udp', bridge: open1 },
    ],
  };
  applyTable(table, ruleset);
});

afterAll(async () => {
  removeTable(table);
  await lab.cleanup();
  spawnSync('nft', ['delete', 'table', 'inet', other]);
  expect(lab.leftoverLinks()).toEqual([]);
  expect(tableExists(table)).toBe(false);
});

describe('the table in the kernel', () => {
  it('holds the chains and rules box built, each as nft prints it', () => {
    const json = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', table], { encoding: 'utf8' }));
    const chains = (json.nftables as Record<string, Record<string, unknown>>[])
      .filter((o) => o.chain)
      .map((o) => o.chain);
    const spec = buildTable(ruleset);
    expect(chains.map((c) => c.name)).toEqual(spec.chains.map((c) => c.name));
    for (const c of spec.chains) {
      const got = chains.find((k) => k.name === c.name)!;
      if (c.base) {
        expect(got).toMatchObject({ type: c.base.type, hook: c.base.hook, prio: c.base.priority, policy: 'accept' });
      } else {
        expect(got.hook).toBeUndefined();
      }
    }
    // The text listing, rule by rule, is the text each rule was built with.
    const text = listing();
    for (const c of spec.chains) {
      const body = new RegExp(`chain ${c.name} \\{\\n([^}]*)\\}`).exec(text)![1];
      const rules = body
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('type '));
      const want = spec.rules.filter((r) => r.chain === c.name).map((r) => r.text);
      expect(rules, `chain ${c.name}`).toEqual(want);
    }
  });

  it('is the same table after a second apply of the same state, which sends nothing', () => {
    const before = listing();
    const handle = tableHandle(table);
    expect(applyTable(table, ruleset)).toBe(false);
    expect(listing()).toBe(before);
    expect(tableHandle(table)).toBe(handle);
    expect(appliedTag(table)?.toString()).toMatch(/^box ruleset sha256:[0-9a-f]{64}$/);
  });

  it('is rebuilt when someone else deleted or replaced it, though the state is the same', () => {
    const before = listing();
    execFileSync('nft', ['delete', 'table', 'inet', table]);
    expect(applyTable(table, ruleset)).toBe(true);
    expect(listing()).toBe(before);
    execFileSync('nft', ['delete', 'table', 'inet', table]);
    execFileSync('nft', ['add', 'table', 'inet', table]);
    expect(applyTable(table, ruleset)).toBe(true);
    expect(listing()).toBe(before);
  });

  it('is left as it was when the kernel refuses a batch', () => {
    const before = listing();
    const changed: BoxRuleset = { ...ruleset, ports: [] };
    const bad = newRule(NFPROTO_INET, table, 'forward', jump('no-such-chain'), 'jump no-such-chain');
    expect(() => commitBatch([...tableMessages(table, changed), bad])).toThrow(
      /add rule .* jump no-such-chain: ENOENT/,
    );
    expect(listing()).toBe(before);
  });

  it("tells which host ports other roots' tables publish", () => {
    const held = portsPublishedByOtherTables(`${table}-another`)
      .map((p) => `${p.protocol} ${p.hostIp}:${p.hostPort}`)
      .filter((p) => p.includes(`:${port.any}`) || p.includes(`:${port.any + 1}`) || p.includes(`:${port.any + 2}`))
      .sort();
    expect(held).toEqual(
      [`tcp 0.0.0.0:${port.any}`, `tcp 127.0.0.1:${port.loopback}`, `tcp ${world.hostAddress}:${port.hostIp}`].sort(),
    );
    expect(portsPublishedByOtherTables(table).filter((p) => p.hostPort === port.any)).toEqual([]);
    // so a container of another storage root cannot take them
    const binding = { containerPort: 80, protocol: 'tcp' as const, hostIp: '', hostPort: String(port.any) };
    expect(() => hostPortsFor({ root: `/nonexistent/${lab.tag}` }, [binding], [])).toThrow(
      `Bind for 0.0.0.0:${port.any} failed: port is already allocated (by a container)`,
    );
  });

  it("never touches another program's table", () => {
    const before = listing(other);
    applyTable(table, ruleset);
    const scratch = `boxt-${lab.tag}x`;
    applyTable(scratch, ruleset);
    removeTable(scratch);
    expect(tableExists(scratch)).toBe(false);
    expect(listing(other)).toBe(before);
  });

  it('is removed by removeTable and by an empty ruleset, and removing none is no error', () => {
    const scratch = `boxt-${lab.tag}y`;
    applyTable(scratch, ruleset);
    expect(tableExists(scratch)).toBe(true);
    removeTable(scratch);
    expect(tableExists(scratch)).toBe(false);
    removeTable(scratch);
    applyTable(scratch, ruleset);
    expect(applyTable(scratch, { networks: [], ports: [] })).toBe(true);
    expect(tableExists(scratch)).toBe(false);
    expect(applyTable(scratch, { networks: [], ports: [] })).toBe(false);
  });
});

describe('published ports', () => {
  it('reach the container from another machine, keeping its source address', () => {
    expect(lab.connect(world.pid, 'tcp', world.hostAddress, port.any)).toBe(`ok ${world.address}`);
    expect(lab.connect(world.pid, 'udp', world.hostAddress, port.udp)).toBe(`ok ${world.address}`);
  });

  it("reach the container from the host's 127.0.0.1 and its own addresses", () => {
    // from 127.0.0.1 the container sees the bridge's address (it could not answer 127.0.0.1)
    expect(lab.connect(undefined, 'tcp', '127.0.0.1', port.any)).toBe(`ok ${lab.addr(1, 1)}`);
    expect(lab.connect(undefined, 'tcp', '127.0.0.1', port.loopback)).toBe(`ok ${lab.addr(1, 1)}`);
    expect(lab.connect(undefined, 'udp', '127.0.0.1', port.udp)).toBe(`ok ${lab.addr(1, 1)}`);
    expect(lab.connect(undefined, 'tcp', world.hostAddress, port.any)).toBe(`ok ${world.hostAddress}`);
  });

  it('reach the container also for a UDP client that was sending before the port was published', () => {
    const late = port.any + 5;
    const source = port.any + 6;
    // the client's flow exists before the port is published: its packets go to the host, unanswered
    expect(lab.connect(world.pid, 'udp', world.hostAddress, late, 1, source)).toMatch(/^error /);
    const flowOf = () =>
      listFlows().find((f) => f.orig.src === world.address && f.orig.srcPort === source && f.orig.dstPort === late);
    expect(flowOf()?.dnat).toBe(false);
    const published: BoxRuleset = {
      ...ruleset,
      ports: [
        ...ruleset.ports,
        { hostPort: late, containerIp: c1.address, containerPort: 53, protocol: 'udp', bridge: open1 },
      ],
    };
    try {
      applyTable(table, published);
      expect(lab.connect(world.pid, 'udp', world.hostAddress, late, 3, source)).toBe(`ok ${world.address}`);
      expect(flowOf()?.dnat).toBe(true);
    } finally {
      applyTable(table, ruleset);
    }
  });

  it('on one host address answer on that address only', () => {
    expect(lab.connect(world.pid, 'tcp', world.hostAddress, port.hostIp)).toBe(`ok ${world.address}`);
    expect(lab.connect(undefined, 'tcp', '127.0.0.1', port.hostIp)).toBe('error refused');
    expect(lab.connect(undefined, 'tcp', lab.addr(1, 1), port.hostIp)).toBe('error refused');
  });

  it('reach the container from containers: its own, its network, and another network (hairpin)', () => {
    // masqueraded, so that the answer comes back through the host and its NAT
    expect(lab.connect(c1.pid, 'tcp', world.hostAddress, port.any)).toBe(`ok ${lab.addr(1, 1)}`);
    expect(lab.connect(c1b.pid, 'tcp', world.hostAddress, port.any)).toBe(`ok ${lab.addr(1, 1)}`);
    // from another network: let through (a published port is for anyone), masqueraded on the way
    expect(lab.connect(c2.pid, 'tcp', world.hostAddress, port.any)).toBe(`ok ${lab.addr(1, 1)}`);
  });

  it('on 127.0.0.1 are out of reach of other machines, also by a forged 127.0.0.1 destination', () => {
    expect(lab.connect(world.pid, 'tcp', world.hostAddress, port.loopback)).toBe('error refused');
    lab.sendLoopbackVia(world.pid, world.hostAddress);
    // The forged packets reach box's prerouting chain, which must not translate them (once
    // translated, nothing would stop them on their way to the container).
    const seen = packets('prerouting', 'ip daddr 127.0.0.0/8');
    const translated = packets('publish', 'ip daddr 127.0.0.1');
    expect(lab.connect(world.pid, 'tcp', '127.0.0.1', port.loopback, 2)).toBe('error timeout');
    expect(packets('prerouting', 'ip daddr 127.0.0.0/8')).toBeGreaterThan(seen);
    expect(packets('publish', 'ip daddr 127.0.0.1')).toBe(translated);
  });

  it("keep a container from the host's loopback services (forged 127.0.0.1 through the bridge)", async () => {
    // A probe table of the test's own counts what the host would deliver to 127.0.0.1:hostOnly.
    const hostOnly = port.any + 4;
    const probe = [
      'chain input {',
      'type filter hook input priority 0; policy accept;',
      `ip daddr 127.0.0.1 udp dport ${hostOnly} counter`,
      '}',
    ];
    execFileSync('nft', ['-f', '-'], { input: `table inet ${other}p {\n${probe.join('\n')}\n}\n` });
    const delivered = (): number => {
      const out = execFileSync('nft', ['list', 'table', 'inet', `${other}p`], { encoding: 'utf8' });
      return Number(/counter packets (\d+)/.exec(out)![1]);
    };
    try {
      await lab.server(undefined, 'udp', hostOnly, '127.0.0.1');
      expect(lab.connect(undefined, 'udp', '127.0.0.1', hostOnly)).toBe('ok 127.0.0.1');
      expect(delivered()).toBe(1);
      lab.sendLoopbackVia(c1b.pid, lab.addr(1, 1));
      const dropped = packets('guard', `iifname "${open1}"`);
      expect(lab.connect(c1b.pid, 'udp', '127.0.0.1', hostOnly, 1)).toBe('error timeout');
      expect(packets('guard', `iifname "${open1}"`)).toBeGreaterThan(dropped);
      expect(delivered()).toBe(1);
    } finally {
      spawnSync('nft', ['delete', 'table', 'inet', `${other}p`]);
    }
  });
});

describe('outbound traffic and isolation', () => {
  it("is masqueraded: another machine with no route to the network sees the host's address", () => {
    expect(lab.connect(c1.pid, 'tcp', world.address, 9000)).toBe(`ok ${world.hostAddress}`);
    expect(lab.connect(c2.pid, 'tcp', world.address, 9000)).toBe(`ok ${world.hostAddress}`);
  });

  it('passes within a network, not from one network to another', () => {
    expect(lab.connect(c1b.pid, 'tcp', c1.address, 80)).toBe(`ok ${c1b.address}`);
    const dropped = packets('isolate', `oifname "${open2}"`);
    expect(lab.connect(c1.pid, 'tcp', c2.address, 80, 2)).toBe('error timeout');
    expect(packets('isolate', `oifname "${open2}"`)).toBeGreaterThan(dropped);
    // the host itself reaches both
    expect(lab.connect(undefined, 'tcp', c2.address, 80)).toBe(`ok ${lab.addr(2, 1)}`);
  });

  it('lets no other machine into a network by routing to a container directly', () => {
    ip(['route', 'add', `${lab.addr(1, 0)}/24`, 'via', world.hostAddress], world.pid);
    try {
      const dropped = packets('forward', `oifname "${open1}" counter`);
      expect(lab.connect(world.pid, 'tcp', c1.address, 80, 2)).toBe('error timeout');
      expect(packets('forward', `oifname "${open1}" counter`)).toBeGreaterThan(dropped);
    } finally {
      ip(['route', 'del', `${lab.addr(1, 0)}/24`], world.pid);
    }
  });

  it('has no way out of an internal network, and its containers talk to each other', () => {
    expect(lab.connect(c3b.pid, 'tcp', c3.address, 80)).toBe(`ok ${c3b.address}`);
    const dropped = packets('forward', `iifname "${internal}" oifname != "${internal}"`);
    expect(lab.connect(c3.pid, 'tcp', world.address, 9000, 2)).toBe('error timeout');
    expect(lab.connect(c3.pid, 'tcp', c1.address, 80, 2)).toBe('error timeout');
    expect(packets('forward', `iifname "${internal}" oifname != "${internal}"`)).toBeGreaterThan(dropped + 1);
  });
});
