// This root's nftables table (inet, named by kernel-names.ts) against the state its records give
// (its bridge networks, the ports its running containers publish): the same desired ruleset that
// every start and end applies (src/network/setup.ts), compared with the kernel's table by the
// digest the table carries. --fix applies it again, under the ruleset's lock.
import { nftTableName } from '../../network/kernel-names';
import { appliedTag, portsPublishedBy, tableHolds } from '../../network/nftables';
import { desiredRuleset, syncRuleset } from '../../network/setup';
import { NetworkStore } from '../../network/store';
import { Checker } from './types';

export const nftablesChecker: Checker = {
  kind: 'nftables',
  async find(ctx) {
    const table = nftTableName(ctx.roots);
    const desired = desiredRuleset(ctx.roots, new NetworkStore(ctx.roots));
    if (tableHolds(table, desired)) return [];
    const wanted = new Set(desired.ports.map((p) => `${p.protocol} ${p.hostIp} ${p.hostPort}`));
    const stale = portsPublishedBy((t) => t === table).filter(
      (p) => !wanted.has(`${p.protocol} ${p.hostIp} ${p.hostPort}`),
    );
    const ports = stale.map((p) => `${p.hostIp}:${p.hostPort}/${p.protocol}`).join(', ');
    const missing = appliedTag(table) === undefined;
    const reason = missing
      ? "missing: this root's networks need it (deleted by someone else)"
      : stale.length
        ? `publishes ports no running container does (${ports})`
        : desired.networks.length
          ? 'differs from what the networks and running containers of this root give'
          : 'no network of this root needs it';
    return [{ kind: 'nftables', object: `table inet ${table}`, reason }];
  },
  async fix(ctx) {
    await syncRuleset(ctx.roots, new NetworkStore(ctx.roots), true);
  },
};
