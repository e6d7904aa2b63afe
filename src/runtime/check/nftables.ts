// This root's nftables table (inet, named by kernel-names.ts) against the state its records give
// (its bridge networks, the ports its running containers publish): the same desired ruleset that
// every start and end applies (src/network/setup.ts), compared with the kernel's table by the
// digest the table carries. A table that is missing is no leftover (the next start makes it); one
// that differs while a start or end is applying its change is given a bounded moment to settle.
// --fix applies the desired table again, under the ruleset's lock.
import { nftTableName } from '../../network/kernel-names';
import { appliedTag, portsPublishedBy, tableHolds } from '../../network/nftables';
import { desiredRuleset, syncRuleset } from '../../network/setup';
import { NetworkStore } from '../../network/store';
import { otherHolderOfTag } from '../../network/tag-claims';
import { publishComment } from '../../network/nft-ruleset';
import type { CheckContext } from './context';
import { Checker } from './types';

/** A start or end in flight applies its ruleset within this; a table that differs longer is stale. */
const SETTLE_MS = 3000;

export const nftablesChecker: Checker = {
  kind: 'nftables',
  async find(ctx) {
    const table = nftTableName(ctx.roots);
    if (otherHolderOfTag(ctx.roots) !== undefined) return []; // the table is that root's
    const store = new NetworkStore(ctx.roots);
    // A missing table is no leftover: the next start applies it (a root's first start does).
    const stale = () => appliedTag(table) !== undefined && !tableHolds(table, desiredRuleset(ctx.roots, store));
    for (const deadline = Date.now() + SETTLE_MS; stale(); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) return [{ kind: 'nftables', object: `table inet ${table}`, reason: why(ctx, table) }];
    }
    return [];
  },
  async fix(ctx) {
    await syncRuleset(ctx.roots, new NetworkStore(ctx.roots), true);
  },
};

function why(ctx: CheckContext, table: string): string {
  const desired = desiredRuleset(ctx.roots, new NetworkStore(ctx.roots));
  // as the rules' comments name them (publishComment)
  const wanted = new Set(desired.ports.map((p) => publishComment(p.protocol, p.hostIp ?? '0.0.0.0', p.hostPort)));
  const stale = portsPublishedBy((t) => t === table).filter(
    (p) => !wanted.has(publishComment(p.protocol, p.hostIp, p.hostPort)),
  );
  if (stale.length) {
    const ports = stale.map((p) => `${p.hostIp}:${p.hostPort}/${p.protocol}`).join(', ');
    return `publishes ports no running container does (${ports})`;
  }
  if (!desired.networks.length) return 'no network of this root needs it';
  return 'holds rules the networks and running containers of this root do not give (added by hand?)';
}
