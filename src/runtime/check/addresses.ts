// Address allocations (IPAM) held for containers that do not exist or whose owner process is
// gone, read from each network's ipam.json; --fix drops them under the network's lock, by the
// reconcile every allocation runs first (src/network/ipam.ts).
import { deadAllocations, releaseDead } from '../../network/ipam';
import { NetworkStore } from '../../network/store';
import { persisting } from './context';
import { Checker } from './types';

export const addressChecker: Checker = {
  kind: 'address',
  async find(ctx) {
    const networks = new NetworkStore(ctx.roots).readSync();
    const dead = () => networks.flatMap((n) => [...deadAllocations(ctx.roots, n.Id)].map(([id, a]) => ({ n, id, a })));
    // a container's end releases its addresses a moment after its init is gone
    const key = (d: { n: { Id: string }; id: string }) => `${d.n.Id}/${d.id}`;
    const left = await persisting(dead(), (list) => {
      const again = new Set(dead().map(key));
      return list.filter((d) => again.has(key(d)));
    });
    return left.map(({ n, id, a }) => {
      const why = ctx.exists(id) ? 'its owner process is gone' : 'the container does not exist';
      const reason = `allocated to container ${id.slice(0, 12)}, but ${why}`;
      return { kind: 'address', object: `${a.address} on ${n.Name}`, reason, detail: { network: n.Id } };
    });
  },
  async fix(ctx, f) {
    await releaseDead(ctx.roots, String(f.detail!.network));
  },
};
