// Container records that reality has left behind: recorded running while nobody answers for the
// container (its monitor or foreground `box run` was killed), waiting to restart with no back-off
// process, a start nobody recorded. Found and put right by the reconcile every command runs on
// what it touches (lifecycle.ts refresh/staleness), which --fix runs on each: the container's
// processes and cgroups go, its end is recorded, a back-off is resumed.
import { refresh, staleness } from '../lifecycle';
import { Checker, Finding } from './types';

export const containerChecker: Checker = {
  kind: 'container',
  async find(ctx) {
    const out: Finding[] = [];
    for (const r of ctx.records()) {
      const reason = staleness(ctx.roots, r);
      if (reason) out.push({ kind: 'container', object: `${r.id} (${r.name})`, reason, detail: { id: r.id } });
    }
    return out;
  },
  async fix(ctx, f) {
    const record = ctx.store.get(String(f.detail!.id));
    if (record) await refresh(ctx.roots, ctx.store, record);
  },
};
