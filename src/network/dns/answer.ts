// What a network's DNS responder says to one query, decided from the names table alone (no I/O,
// so every rule is unit-tested). The rules, close to Docker's embedded DNS:
//   - a container's name, alias or short id, any case, bare or under the network's name as a
//     domain (`db` and `db.app-network`): A records (several containers may share an alias);
//     AAAA and other types of such a name: no records (NODATA), so clients fall back to A at once;
//   - PTR of a container's address: its first name under the network's domain;
//   - an unknown single-label name or one under the network's domain: NXDOMAIN, never sent to the
//     host's resolvers (it cannot exist there, and a container's lookups must not leak out);
//   - anything else is forwarded to the host's resolvers;
//   - `id.server` (class CH, TXT) gives `box <network id>`: how box checks that the process
//     answering on the gateway's port 53 is this network's responder.
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { NameEntry } from './names';

/** How long a client may keep an answer: none, since a container's name may move at any time. */
const TTL = 0;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The lookups of one names file: lowercase name -> addresses, address -> its first name. */
export interface NameTable {
  networkId: string;
  /** the network's name, lowercase: `db.<domain>` is `db` */
  domain: string;
  byName: Map<string, string[]>;
  byAddress: Map<string, string>;
}

export function buildNameTable(networkId: string, domain: string, entries: NameEntry[]): NameTable {
  const byName = new Map<string, string[]>();
  const byAddress = new Map<string, string>();
  for (const e of entries) {
    for (const n of e.names) {
      const key = n.toLowerCase();
      const addresses = byName.get(key) ?? [];
      if (!addresses.includes(e.ipv4)) addresses.push(e.ipv4);
      byName.set(key, addresses);
    }
    if (e.names.length && !byAddress.has(e.ipv4)) byAddress.set(e.ipv4, e.names[0].toLowerCase());
  }
  return { networkId, domain: domain.toLowerCase(), byName, byAddress };
}

/** The query's name relative to the network: lowercase, no trailing dot, the network's domain taken off. */
function localName(name: string, table: NameTable): { name: string; inDomain: boolean } {
  const n = name.toLowerCase().replace(/\.$/, '');
  const suffix = `.${table.domain}`;
  if (table.domain && n.endsWith(suffix)) return { name: n.slice(0, -suffix.length), inDomain: true };
  return { name: n, inDomain: n === table.domain && table.domain !== '' };
}

/** `4.3.2.1.in-addr.arpa` -> `1.2.3.4`; undefined for any other name. */
function reverseAddress(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
}

/** A response to `query` carrying `rcode` and `answers`, authoritative (it is the network's own data). */
function reply(query: DecodedPacket, rcode: number, answers: Answer[] = [], authoritative = true): Packet {
  const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  const aa = authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0;
  return {
    type: 'response',
    id: query.id,
    flags: aa | dnsPacket.RECURSION_AVAILABLE | rd | rcode,
    questions: query.questions,
    answers,
  };
}

/**
 * The response to a decoded query, or 'forward' when the host's resolvers must answer it.
 * `opcode` is the query's header opcode (dns-packet decodes it as a string).
 */
export function answerQuery(query: DecodedPacket & { opcode?: string }, table: NameTable): Packet | 'forward' {
  if (query.type !== 'query') return reply(query, RCODE.FORMERR);
  if (query.opcode !== undefined && query.opcode !== 'QUERY') return reply(query, RCODE.NOTIMP);
  const questions = query.questions ?? [];
  if (questions.length !== 1) return reply(query, RCODE.FORMERR);
  const q: Question = questions[0];
  if (q.class === 'CH') {
    if (q.type === 'TXT' && q.name.toLowerCase() === 'id.server') {
      return reply(query, RCODE.NOERROR, [
        { name: q.name, type: 'TXT', class: 'CH', ttl: TTL, data: `box ${table.networkId}` },
      ]);
    }
    return reply(query, RCODE.REFUSED);
  }
  if (q.type === 'PTR') {
    const address = reverseAddress(q.name);
    const owner = address && table.byAddress.get(address);
    if (owner) {
      const target = table.domain ? `${owner}.${table.domain}` : owner;
      return reply(query, RCODE.NOERROR, [{ name: q.name, type: 'PTR', class: 'IN', ttl: TTL, data: target }]);
    }
    return 'forward';
  }
  const local = localName(q.name, table);
  const addresses = table.byName.get(local.name);
  if (addresses) {
    // ANY (255) is not in dns-packet's type list, but it decodes it as 'ANY'.
    if (q.type !== 'A' && (q.type as string) !== 'ANY') return reply(query, RCODE.NOERROR);
    return reply(
      query,
      RCODE.NOERROR,
      addresses.map((a) => ({ name: q.name, type: 'A', class: 'IN', ttl: TTL, data: a })),
    );
  }
  if (local.inDomain || (local.name !== '' && !local.name.includes('.'))) return reply(query, RCODE.NXDOMAIN);
  return 'forward';
}

/** A response saying only `rcode` to a raw query whose header could be read (SERVFAIL when forwarding failed). */
export function errorReply(query: DecodedPacket, rcode: number): Packet {
  return reply(query, rcode, [], false);
}
