// Container records that reality has left behind: recorded running while nobody answers for the
// container (its monitor or foreground `box run` was killed), waiting to restart with no back-off
// process, a start nobody recorded. Found and put right by the reconcile every command runs on
// what it touches (lifecycle.ts refresh/staleness), which --fix runs on each: the container's
// processes and cgroups go, its end is recorded, a back-off is resumed. A record that cannot be
// read back (damaged) is reported, and left to `box rm -f`: its writable layer may be precious.
import type { ContainerRecord } from '../../model';
import { refresh, staleness } from '../lifecycle';
import { persisting } from './context';
import { Checker, Finding } from './types';

export const containerChecker: Checker = {
  kind: 'container',
  async find(ctx) {
    // a start in flight is unrecorded for a moment: only a record that stays stale is reported
    const stale = (records: ContainerRecord[]) =>
      records.flatMap((r) => {
        const now = ctx.store.read(r.id);
        return now && 'state' in now && staleness(ctx.roots, now) ? [now] : [];
      });
    const settled = (await persisting(ctx.records(), stale)).flatMap((r): Finding[] => {
      const reason = staleness(ctx.roots, r);
      return reason ? [{ kind: 'container', object: `${r.id} (${r.name})`, reason, detail: { id: r.id } }] : [];
    });
    const damaged = ctx.damaged().map((d) => ({
      kind: 'container',
      object: d.dir,
      reason: `its record is damaged (${d.problem})`,
      detail: { damaged: d.id },
    }));
    return [...settled, ...damaged];
  },
  async fix(ctx, f) {
    if (f.detail!.damaged !== undefined) {
      // its writable layer may hold what its user cares about: removing it is the user's call
      throw new Error(`remove it with box rm -f ${f.detail!.damaged} (its writable layer goes with it)`);
    }
    const record = ctx.store.get(String(f.detail!.id));
    if (record) await refresh(ctx.roots, ctx.store, record);
  },
};
