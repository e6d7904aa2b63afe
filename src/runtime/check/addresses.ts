// Address allocations (IPAM) held for containers that do not exist or whose owner process is
// gone, read from each network's ipam.json; --fix drops them under the network's lock, by the
// reconcile every allocation runs first (src/network/ipam.ts).
import { deadAllocations, releaseDead } from '../../network/ipam';
import { NetworkStore } from '../../network/store';
import { Checker, Finding } from './types';

export const addressChecker: Checker = {
  kind: 'address',
  async find(ctx) {
    const out: Finding[] = [];
    for (const n of new NetworkStore(ctx.roots).readSync()) {
      for (const [id, a] of deadAllocations(ctx.roots, n.Id)) {
        const why = ctx.exists(id) ? 'its owner process is gone' : 'the container does not exist';
        const reason = `allocated to container ${id.slice(0, 12)}, but ${why}`;
        out.push({ kind: 'address', object: `${a.address} on ${n.Name}`, reason, detail: { network: n.Id } });
      }
    }
    return out;
  },
  async fix(ctx, f) {
    await releaseDead(ctx.roots, String(f.detail!.network));
  },
};
