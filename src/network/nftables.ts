// box's nftables table (family inet, named by kernel-names.ts), rebuilt from the desired state in
// one netlink batch: add table, delete it, add it again with every chain and rule. The first add
// makes the delete succeed when no table exists yet; the kernel applies the batch as a whole or
// not at all, so the host never sees a half-built table and a refused batch leaves the previous
// one in place. Docker's and podman's tables are never read or touched.
//
// The state must be complete: whatever the ruleset does not name is gone after an apply. Callers
// compute it from the container and network records under their lock. An apply of the state the
// kernel already holds sends nothing (the table carries a digest of its content).
//
// An accept in box's table ends only box's chain: another table's base chain on the same hook still
// sees the packet, and its drop is final (nftables' rule, checked on this kernel). So box's
// forward accepts let its traffic through box's own drops, but a host whose forward chain drops by
// default (Docker sets iptables' FORWARD policy to DROP) drops box's forwarded traffic too, unless
// that chain lets it through (Docker's DOCKER-USER chain is where its users add such rules).
import { BoxError } from '../errors';
import { NETLINK_NETFILTER, NetlinkError, OutgoingMessage, openNetlink } from '../linux/netlink';
import type { Roots } from '../paths';
import { forgetStaleUdpFlows } from './conntrack';
import { nftTableName } from './kernel-names';
import { setRouteLocalnet } from './links';
import { BoxRuleset, buildTable, isEmptyRuleset } from './nft-ruleset';
import type { PortProtocol, PublishedPort } from './published-port';
import {
  batchBegin,
  batchEnd,
  decodeRule,
  delTable,
  getRules,
  getTable,
  NFPROTO_INET,
  newChain,
  newRule,
  newTable,
  tableUserdata,
} from './nft-wire';

export type { BoxRuleset } from './nft-ruleset';

/** Sends one nf_tables batch; a refusal throws naming the message the kernel refused. */
export function commitBatch(messages: OutgoingMessage[]): void {
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    const bytes = messages.reduce((n, m) => n + m.payload.length + 16, 0);
    // One datagram carries the whole batch: the socket's buffers must hold it (and its ACKs).
    if (bytes > 64 * 1024) sock.setBufferSizes(4 * bytes);
    sock.batch('nftables batch', [batchBegin(), ...messages, batchEnd()]);
  } finally {
    sock.close();
  }
}

/** The messages that replace table `table` with the one `r` describes (no batch markers). */
export function tableMessages(table: string, r: BoxRuleset): OutgoingMessage[] {
  return replacement(table, r).messages;
}

function replacement(table: string, r: BoxRuleset): { messages: OutgoingMessage[]; tag: Buffer } {
  const spec = buildTable(r);
  const content = [
    ...spec.chains.map((c) => newChain(NFPROTO_INET, table, c)),
    ...spec.rules.map((rule) => newRule(NFPROTO_INET, table, rule.chain, rule.exprs, rule.text, rule.comment)),
  ];
  const tag = stateTag(content);
  return {
    messages: [
      newTable(NFPROTO_INET, table),
      delTable(NFPROTO_INET, table),
      newTable(NFPROTO_INET, table, tag),
      ...content,
    ],
    tag,
  };
}

// The table carries a digest of its chains and rules in its userdata: an apply of the state the
// kernel already holds sends nothing, and a table deleted or rebuilt by someone else is seen as such.
function stateTag(content: OutgoingMessage[]): Buffer {
  // required here, not imported: this module is loaded by every container start, networked or not
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha256');
  for (const m of content) hash.update(m.payload);
  return Buffer.from(`box ruleset sha256:${hash.digest('hex')}`);
}

/** The tag of table `table` as the kernel holds it (empty when it has none), undefined when there is no table. */
export function appliedTag(table: string): Buffer | undefined {
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    const replies = sock.request(`get table ${table}`, getTable(NFPROTO_INET, table));
    return replies.length > 0 ? (tableUserdata(replies[0]) ?? Buffer.alloc(0)) : undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENOENT') return undefined;
    throw err;
  } finally {
    sock.close();
  }
}

/**
 * Whether the kernel holds table `table` as `r` describes it (none at all when `r` needs nothing):
 * its digest, and as many rules (one added by hand leaves the digest as it was).
 */
export function tableHolds(table: string, r: BoxRuleset): boolean {
  const applied = appliedTag(table);
  if (isEmptyRuleset(r)) return applied === undefined;
  if (applied?.equals(replacement(table, r).tag) !== true) return false;
  return rulesOf(table).length === buildTable(r).rules.length;
}

/** The rules of the inet table `table` as the kernel holds them: chain and comment. */
function rulesOf(table: string): { chain: string; comment?: string }[] {
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    const { type, payload } = getRules(NFPROTO_INET);
    return sock
      .dump('list nftables rules', type, payload)
      .map(decodeRule)
      .filter((rule) => rule.table === table);
  } finally {
    sock.close();
  }
}

/**
 * Makes table `table` the one `r` describes (removed when `r` needs nothing). Returns false when
 * the kernel held exactly that table already, so nothing was sent; `force` sends it anyway (a
 * table whose digest is right may still hold a rule someone added).
 */
export function applyTable(table: string, r: BoxRuleset, force = false): boolean {
  if (isEmptyRuleset(r)) {
    if (appliedTag(table) === undefined) return false;
    removeTable(table);
    return true;
  }
  const { messages, tag } = replacement(table, r);
  // route_localnet only once the guard chain that goes with it is in the kernel
  const allowLocalnet = () => {
    for (const n of r.networks) if (!n.internal) allowLocalnetRouting(n.bridge);
  };
  if (!force && appliedTag(table)?.equals(tag) === true) {
    allowLocalnet();
    return false;
  }
  try {
    commitBatch(messages);
  } catch (err) {
    throw new BoxError(`cannot apply box's nftables rules (table inet ${table}, left as it was): ${message(err)}`);
  }
  allowLocalnet();
  const internal = new Set(r.networks.filter((n) => n.internal).map((n) => n.bridge));
  try {
    forgetStaleUdpFlows(r.ports.filter((p) => !internal.has(p.bridge)));
  } catch (err) {
    // The rules are in place; only UDP clients that kept sending since before are still misrouted.
    process.stderr.write(`box: warning: could not forget stale UDP flows to published ports: ${message(err)}\n`);
  }
  return true;
}

/** Deletes table `table`; nothing to do when it does not exist. */
export function removeTable(table: string): void {
  try {
    commitBatch([newTable(NFPROTO_INET, table), delTable(NFPROTO_INET, table)]);
  } catch (err) {
    throw new BoxError(`cannot remove box's nftables table inet ${table}: ${message(err)}`);
  }
}

/** Makes the storage root's table the one `r` describes (removed when `r` is empty); false: it was already. */
export function applyRuleset(roots: Pick<Roots, 'root'>, r: BoxRuleset, force = false): boolean {
  return applyTable(nftTableName(roots), r, force);
}

/**
 * The host ports published by box tables other than `ownTable` (other storage roots on this host),
 * read from the kernel: a port one root publishes is taken for every other. Their containerPort is
 * not known here (0).
 */
export function portsPublishedByOtherTables(ownTable: string): PublishedPort[] {
  return portsPublishedBy((table) => table.startsWith('box') && table !== ownTable);
}

/** The host ports published by the rules of the inet tables `tables` accepts, read from the kernel. */
export function portsPublishedBy(tables: (table: string) => boolean): PublishedPort[] {
  const sock = openNetlink(NETLINK_NETFILTER);
  try {
    const { type, payload } = getRules(NFPROTO_INET);
    const out: PublishedPort[] = [];
    for (const reply of sock.dump('list nftables rules', type, payload)) {
      const rule = decodeRule(reply);
      if (!tables(rule.table)) continue;
      const m = /^box publish (tcp|udp) (\S+) (\d+)$/.exec(rule.comment ?? '');
      if (m) out.push({ protocol: m[1] as PortProtocol, hostIp: m[2], hostPort: Number(m[3]), containerPort: 0 });
    }
    return out;
  } finally {
    sock.close();
  }
}

/** The ports other storage roots publish on this host (see portsPublishedByOtherTables). */
export function portsPublishedByOtherRoots(roots: Pick<Roots, 'root'>): PublishedPort[] {
  return portsPublishedByOtherTables(nftTableName(roots));
}

/** Removes the storage root's table, if any. */
export function removeRuleset(roots: Pick<Roots, 'root'>): void {
  removeTable(nftTableName(roots));
}

// The host reaches a port published on 127.0.0.1 through DNAT to a container: the kernel routes
// a packet with a 127/8 source out of the bridge (and its reply back in) only with route_localnet
// on the bridge. The guard chain drops what a container could otherwise send to 127/8.
function allowLocalnetRouting(bridge: string): void {
  try {
    setRouteLocalnet(bridge, true);
  } catch (err) {
    // A bridge not made yet gets it on the next apply (the first attach applies the ruleset).
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
