// Step containers of `box build`s that were killed: stopped containers whose build-owner label
// names a process that is gone (src/build/run-step.ts). The next build removes them; --fix does
// it now, under each container's lock, as `rm` would.
import { deadSteps } from '../../build/run-step';
import { appendEvent } from '../events';
import { lockContainer } from '../container-lock';
import { Checker } from './types';

export const buildStepChecker: Checker = {
  kind: 'build-step',
  async find(ctx) {
    return deadSteps(ctx.records()).map((r) => ({
      kind: 'build-step',
      object: `${r.id} (${r.name})`,
      reason: 'step container of a box build that is no longer running',
      detail: { id: r.id },
    }));
  },
  async fix(ctx, f) {
    const id = String(f.detail!.id);
    const lock = await lockContainer(ctx.roots, id);
    try {
      const record = ctx.store.get(id);
      if (!record || deadSteps([record]).length === 0) return;
      ctx.store.remove(record);
      appendEvent(ctx.roots, 'destroy', record);
    } finally {
      lock.release();
    }
  },
};
