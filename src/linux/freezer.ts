// Freezing and thawing a container's cgroup, whichever version: the manager asks the kernel
// (cgroup v1's freezer.state, v2's cgroup.freeze) and reports the state; this waits for a freeze
// to settle and gives up cleanly when it does not.
import { BoxError, errnoCode } from '../errors';
import type { CgroupManager } from './cgroup-manager';

/** Thaws a frozen cgroup (a frozen process cannot handle a signal); a cgroup already gone is fine. */
export function thaw(cgroup: CgroupManager): void {
  const s = cgroup.freezerState();
  if (s === undefined || s === 'thawed') return;
  try {
    cgroup.requestFreeze(false);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Freezes the cgroup and waits until the kernel reports it frozen. A freeze can stay in FREEZING
 * while a task is in an uninterruptible sleep; the request is repeated, and after the deadline
 * the cgroup is thawed again and the pause fails rather than leaving it half-frozen.
 */
export async function freeze(cgroup: CgroupManager, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    cgroup.requestFreeze(true);
    if (cgroup.freezerState() === 'frozen') return;
    if (Date.now() >= deadline) {
      cgroup.requestFreeze(false);
      throw new BoxError(
        'the container did not freeze in time (a process is stuck in the kernel): it was left running',
      );
    }
    await delay(Math.min(1 + i, 20));
  }
}
