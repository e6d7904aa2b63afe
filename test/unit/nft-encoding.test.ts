// nf_tables encoding without the kernel: message framing and byte order, expressions decoded back,
// and the rules box derives from a ruleset (internal networks, ports, refusals, determinism).
// test/integration/nftables.test.ts checks the same rules as the kernel reads them.
import { describe, expect, it } from 'vitest';
import { Attrs, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE } from '../../src/linux/netlink';
import { dnat, ipAddr, iifname, jump } from '../../src/network/nft-expr';
import { BoxRuleset, buildTable, isEmptyRuleset } from '../../src/network/nft-ruleset';
import { batchBegin, newChain, newRule, NFPROTO_INET } from '../../src/network/nft-wire';
import { tableMessages } from '../../src/network/nftables';

const NFGENMSG = 4;

/** An expression's name and its data attributes. */
function decodeExpr(e: Buffer): { name: string; data: Attrs } {
  const elem = Attrs.parse(e).nested(1)!; // NFTA_LIST_ELEM
  return { name: elem.str(1)!, data: elem.nested(2) ?? Attrs.parse(Buffer.alloc(0)) };
}

/** The value of an NFTA_DATA_VALUE inside attribute `type`. */
const dataValue = (a: Attrs, type: number): Buffer => a.nested(type)!.get(1)!;

describe('messages', () => {
  it('frames a batch for the nftables subsystem, its resource id in network order', () => {
    const m = batchBegin();
    expect(m.type).toBe(0x10);
    expect([...m.payload]).toEqual([0, 0, 0, 10]);
  });

  it('writes a base chain: hook, signed priority big-endian, accept policy, type', () => {
    const m = newChain(NFPROTO_INET, 'box', { name: 'output', base: { type: 'nat', hook: 'output', priority: -100 } });
    expect(m.type).toBe((10 << 8) | 3);
    expect(m.flags).toBe(NLM_F_CREATE | NLM_F_ACK);
    expect(m.payload[0]).toBe(NFPROTO_INET);
    const a = Attrs.parse(m.payload, NFGENMSG);
    expect([a.str(1), a.str(3), a.str(7)]).toEqual(['box', 'output', 'nat']);
    const hook = a.nested(4)!;
    expect(hook.u32be(1)).toBe(3);
    expect(hook.get(2)!.readInt32BE(0)).toBe(-100);
    expect(a.u32be(5)).toBe(1);
  });

  it('appends a rule, naming it by its text', () => {
    const m = newRule(NFPROTO_INET, 'box', 'forward', iifname('box0'), 'iifname "box0"');
    expect((m.flags ?? 0) & (NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK)).toBe(NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK);
    expect(m.what).toBe('add rule box forward iifname "box0"');
    const exprs = Attrs.parse(m.payload, NFGENMSG).nested(4)!.all(1);
    expect(exprs.length).toBe(2);
  });

  it('replaces the table in one sequence: add, delete, add, chains, rules', () => {
    const r: BoxRuleset = { networks: [{ bridge: 'box0', subnet: '10.88.0.0/16', internal: false }], ports: [] };
    const msgs = tableMessages('box', r);
    expect(msgs.slice(0, 3).map((m) => m.what)).toEqual(['add table box', 'delete table box', 'add table box']);
    const spec = buildTable(r);
    expect(msgs.length).toBe(3 + spec.chains.length + spec.rules.length);
  });
});

describe('expressions', () => {
  it('matches an interface by its 16 zero-padded bytes', () => {
    const [load, cmp] = iifname('box0').map(decodeExpr);
    expect(load.name).toBe('meta');
    expect(load.data.u32be(2)).toBe(6); // NFT_META_IIFNAME
    expect(cmp.name).toBe('cmp');
    expect(dataValue(cmp.data, 3)).toEqual(Buffer.concat([Buffer.from('box0'), Buffer.alloc(12)]));
  });

  it('matches a prefix with a mask, and an address exactly without one', () => {
    const prefix = ipAddr('saddr', '10.88.1.7/16').map(decodeExpr);
    expect(prefix.map((e) => e.name)).toEqual(['payload', 'bitwise', 'cmp']);
    expect(prefix[0].data.u32be(3)).toBe(12); // source address offset
    expect([...dataValue(prefix[1].data, 4)]).toEqual([255, 255, 0, 0]);
    expect([...dataValue(prefix[2].data, 3)]).toEqual([10, 88, 0, 0]);
    const exact = ipAddr('daddr', '127.0.0.1').map(decodeExpr);
    expect(exact.map((e) => e.name)).toEqual(['payload', 'cmp']);
    expect(exact[0].data.u32be(3)).toBe(16);
    expect(() => ipAddr('daddr', '10.0.0.0/33')).toThrow('not an IPv4 prefix');
    expect(() => ipAddr('daddr', '::1')).toThrow('not an IPv4 address');
  });

  it('jumps with a negative verdict code and the chain name', () => {
    const [imm] = jump('publish').map(decodeExpr);
    const verdict = imm.data.nested(2)!.nested(2)!;
    expect(verdict.get(1)!.readInt32BE(0)).toBe(-3);
    expect(verdict.str(2)).toBe('publish');
  });

  it('translates the destination to an IPv4 address and port in network order', () => {
    const [addr, port, nat] = dnat('10.88.0.2', 8080).map(decodeExpr);
    expect([...dataValue(addr.data, 2)]).toEqual([10, 88, 0, 2]);
    expect(dataValue(port.data, 2).readUInt16BE(0)).toBe(8080);
    expect(nat.name).toBe('nat');
    expect([nat.data.u32be(1), nat.data.u32be(2)]).toEqual([1, 2]); // DNAT, IPv4
  });
});

describe('buildTable', () => {
  const open = { bridge: 'box0', subnet: '10.88.0.0/16', internal: false };
  const closed = { bridge: 'box-int', subnet: '10.89.0.0/24', internal: true };
  const port = (bridge: string) => ({
    hostPort: 8080,
    containerIp: '10.88.0.2',
    containerPort: 80,
    protocol: 'tcp' as const,
    bridge,
  });
  const texts = (r: BoxRuleset, chain: string) =>
    buildTable(r)
      .rules.filter((x) => x.chain === chain)
      .map((x) => x.text);

  it('needs no table without networks and ports', () => {
    expect(isEmptyRuleset({ networks: [], ports: [] })).toBe(true);
    expect(isEmptyRuleset({ networks: [open], ports: [] })).toBe(false);
  });

  it('gives an internal network no masquerade, no published port and no way out', () => {
    const r: BoxRuleset = { networks: [closed], ports: [{ ...port('box-int'), containerIp: '10.89.0.2' }] };
    expect(texts(r, 'postrouting')).toEqual([]);
    expect(texts(r, 'publish')).toEqual([]);
    expect(texts(r, 'forward').slice(0, 2)).toEqual([
      'iifname "box-int" oifname != "box-int" counter drop',
      'oifname "box-int" iifname != "box-int" counter drop',
    ]);
  });

  it('publishes on every address or on one', () => {
    const r: BoxRuleset = { networks: [open], ports: [port('box0'), { ...port('box0'), hostIp: '127.0.0.1' }] };
    expect(texts(r, 'publish')).toEqual([
      'meta nfproto ipv4 tcp dport 8080 counter dnat ip to 10.88.0.2:80 comment "box publish tcp 0.0.0.0 8080"',
      'ip daddr 127.0.0.1 tcp dport 8080 counter dnat ip to 10.88.0.2:80 comment "box publish tcp 127.0.0.1 8080"',
    ]);
  });

  it('refuses a port on a bridge it does not know and a name that is no interface name', () => {
    expect(() => buildTable({ networks: [open], ports: [port('box9')] })).toThrow('names bridge box9');
    expect(() => buildTable({ networks: [{ ...open, bridge: '../x' }], ports: [] })).toThrow('not a bridge name');
  });

  it('is the same bytes for the same state', () => {
    const r: BoxRuleset = { networks: [open, closed], ports: [port('box0')] };
    const bytes = (x: BoxRuleset) => Buffer.concat(tableMessages('box', x).map((m) => m.payload));
    expect(bytes(r).equals(bytes(structuredClone(r)))).toBe(true);
  });
});
