// box's nftables table (family inet, named by kernel-names.ts), rebuilt from the desired state in
// one netlink batch: add table, delete it, add it again with every chain and rule. The first add
// makes the delete succeed when no table exists yet; the kernel applies the batch as a whole or
// not at all, so the host never sees a half-built table and a refused batch leaves the previous
// one in place. Docker's and podman's tables are never read or touched.
//
// The state must be complete: whatever the ruleset does not name is gone after an apply. Callers
// compute it from the container and network records under their lock.
//
// An accept in box's table ends only box's chain: another table's base chain on the same hook still
// sees the packet, and its drop is final (nftables' rule, checked on this kernel). So box's
// forward accepts let its traffic through box's own drops, but a host whose forward chain drops by
// default (Docker sets iptables' FORWARD policy to DROP) drops box's forwarded traffic too, unless
// that chain lets it through (Docker's DOCKER-USER chain is where its users add such rules).
import { BoxError } from '../errors';
import { NETLINK_NETFILTER, OutgoingMessage, openNetlink } from '../linux/netlink';
import type { Roots } from '../paths';
import { forgetStaleUdpFlows } from './conntrack';
import { nftTableName } from './kernel-names';
import { setRouteLocalnet } from './links';
import { BoxRuleset, buildTable, isEmptyRuleset } from './nft-ruleset';
import { batchBegin, batchEnd, delTable, NFPROTO_INET, newChain, newRule, newTable } from './nft-wire';

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
  const spec = buildTable(r);
  return [
    newTable(NFPROTO_INET, table),
    delTable(NFPROTO_INET, table),
    newTable(NFPROTO_INET, table),
    ...spec.chains.map((c) => newChain(NFPROTO_INET, table, c)),
    ...spec.rules.map((rule) => newRule(NFPROTO_INET, table, rule.chain, rule.exprs, rule.text)),
  ];
}

/** Replaces table `table` with the one `r` describes, or removes it when `r` needs nothing. */
export function applyTable(table: string, r: BoxRuleset): void {
  if (isEmptyRuleset(r)) {
    removeTable(table);
    return;
  }
  try {
    commitBatch(tableMessages(table, r));
  } catch (err) {
    throw new BoxError(`cannot apply box's nftables rules (table inet ${table}, left as it was): ${message(err)}`);
  }
  for (const n of r.networks) if (!n.internal) allowLocalnetRouting(n.bridge);
  const internal = new Set(r.networks.filter((n) => n.internal).map((n) => n.bridge));
  try {
    forgetStaleUdpFlows(r.ports.filter((p) => !internal.has(p.bridge)));
  } catch (err) {
    // The rules are in place; only UDP clients that kept sending since before are still misrouted.
    process.stderr.write(`box: warning: could not forget stale UDP flows to published ports: ${message(err)}\n`);
  }
}

/** Deletes table `table`; nothing to do when it does not exist. */
export function removeTable(table: string): void {
  try {
    commitBatch([newTable(NFPROTO_INET, table), delTable(NFPROTO_INET, table)]);
  } catch (err) {
    throw new BoxError(`cannot remove box's nftables table inet ${table}: ${message(err)}`);
  }
}

/** Replaces the storage root's table with the one `r` describes (removed when `r` is empty). */
export function applyRuleset(roots: Pick<Roots, 'root'>, r: BoxRuleset): void {
  applyTable(nftTableName(roots), r);
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
