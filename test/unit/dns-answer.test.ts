// The DNS responder's decisions (src/network/dns/answer.ts) and the host resolvers it forwards to
// (resolvers.ts), from encoded queries as a client sends them.
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { answerQuery, buildNameTable } from '../../src/network/dns/answer';
import { hostResolvers, nameserversOf } from '../../src/network/dns/resolvers';

const NET = 'a'.repeat(64);
const DB = '1'.repeat(64);
const WEB = '2'.repeat(64);
const table = buildNameTable(NET, 'App-Net', [
  { containerId: DB, names: ['db', 'Shared', DB.slice(0, 12)], ipv4: '10.89.0.3' },
  { containerId: WEB, names: ['web', 'shared'], ipv4: '10.89.0.4' },
]);

/** What the responder says to a query as a client encodes it. */
function ask(name: string, type = 'A', klass: 'IN' | 'CH' = 'IN') {
  const wire = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: klass }],
  });
  const out = answerQuery(dnsPacket.decode(wire), table);
  if (out === 'forward') return 'forward';
  const back = dnsPacket.decode(dnsPacket.encode(out));
  return {
    id: back.id,
    rcode: (back as { rcode?: string }).rcode,
    aa: back.flag_aa,
    rd: back.flag_rd,
    answers: back.answers!.map((a) => (a as { data: unknown }).data),
  };
}

describe('DNS answers', () => {
  it('answers names, aliases and short ids in any case, bare or under the network name', () => {
    expect(ask('db')).toEqual({ id: 7, rcode: 'NOERROR', aa: true, rd: true, answers: ['10.89.0.3'] });
    expect(ask('DB.app-net.')).toMatchObject({ answers: ['10.89.0.3'] });
    expect(ask(DB.slice(0, 12))).toMatchObject({ answers: ['10.89.0.3'] });
    // an alias two containers share: both addresses
    expect(ask('SHARED')).toMatchObject({ answers: ['10.89.0.3', '10.89.0.4'] });
  });

  it('says NODATA for other types of a known name, and PTR for its addresses', () => {
    expect(ask('web', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(ask('web', 'MX')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(ask('4.0.89.10.in-addr.arpa', 'PTR')).toMatchObject({ answers: ['web.app-net'] });
    expect(ask('9.0.89.10.in-addr.arpa', 'PTR')).toBe('forward');
  });

  it('says NXDOMAIN for unknown single labels and names under the network, forwards the rest', () => {
    expect(ask('cache')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(ask('cache.app-net')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(ask('db.other-net')).toBe('forward');
    expect(ask('example.org')).toBe('forward');
    expect(ask('example.org', 'AAAA')).toBe('forward');
  });

  it('tells who it is to a CH TXT id.server probe, and refuses other CH queries', () => {
    expect(ask('id.server', 'TXT', 'CH')).toMatchObject({ answers: [[Buffer.from(`box ${NET}`)]] });
    expect(ask('version.bind', 'TXT', 'CH')).toMatchObject({ rcode: 'REFUSED' });
  });

  it('answers a message that is not a query with FORMERR, and several questions too', () => {
    const twice = dnsPacket.decode(
      dnsPacket.encode({
        type: 'query',
        id: 1,
        questions: [
          { name: 'db', type: 'A' },
          { name: 'web', type: 'A' },
        ],
      }),
    );
    const out = answerQuery(twice, table);
    expect(out !== 'forward' && out.flags! & 0xf).toBe(1);
  });
});

describe('host resolvers', () => {
  const files = (map: Record<string, string>) => (f: string) => map[f];

  it('reads nameserver lines (zone index dropped, duplicates and junk skipped)', () => {
    const text = '# c\nsearch x\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\nnameserver 10.0.0.2\n';
    expect(nameserversOf(text)).toEqual(['10.0.0.2', 'fe80::1']);
  });

  it("replaces systemd-resolved's stub with its upstream servers, keeps the others, at most three", () => {
    const read = files({
      '/etc/resolv.conf': 'nameserver 127.0.0.53\nnameserver 10.0.0.9\n',
      '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n',
    });
    expect(hostResolvers([], {}, read)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    const noUpstream = files({ '/etc/resolv.conf': 'nameserver 127.0.0.53\n' });
    expect(hostResolvers([], {}, noUpstream)).toEqual(['127.0.0.53']);
  });

  it('reads BOX_HOST_RESOLV_CONF instead when set, and leaves out the responder itself', () => {
    const read = files({ '/t/resolv': 'nameserver 10.89.0.1\nnameserver 127.0.0.1\n' });
    expect(hostResolvers(['10.89.0.1'], { BOX_HOST_RESOLV_CONF: '/t/resolv' }, read)).toEqual(['127.0.0.1']);
  });
});
