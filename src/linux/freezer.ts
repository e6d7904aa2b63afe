// The cgroup freezer of a container's cgroup: cgroup v1's freezer controller (freezer.state
// FROZEN/THAWED, passing through FREEZING) or cgroup v2's cgroup.freeze (with the settled state in
// cgroup.events "frozen 0|1").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { ContainerCgroup } from './cgroups';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cgroup's freezer state; undefined when the cgroup (or the v1 freezer hierarchy) is absent. */
export function freezerState(cgroup: ContainerCgroup): FreezerState | undefined {
  if (cgroup.host.version === 2) {
    const dir = cgroup.dirs[0];
    const events = read(path.join(dir, 'cgroup.events'));
    if (events === undefined) return undefined;
    if (/^frozen 1$/m.test(events)) return 'frozen';
    return read(path.join(dir, 'cgroup.freeze'))?.trim() === '1' ? 'freezing' : 'thawed';
  }
  const dir = cgroup.dirFor('freezer');
  const state = dir === undefined ? undefined : read(path.join(dir, 'freezer.state'))?.trim();
  if (state === 'FROZEN') return 'frozen';
  if (state === 'FREEZING') return 'freezing';
  return state === 'THAWED' ? 'thawed' : undefined;
}

/** Asks the kernel to freeze or thaw the cgroup (the state may settle later, see freeze). */
export function writeFreezer(cgroup: ContainerCgroup, freeze: boolean): void {
  if (cgroup.host.version === 2) fs.writeFileSync(path.join(cgroup.dirs[0], 'cgroup.freeze'), freeze ? '1' : '0');
  else {
    const dir = cgroup.dirFor('freezer');
    if (!dir) throw new BoxError('pausing needs the freezer cgroup controller, which this host does not mount');
    fs.writeFileSync(path.join(dir, 'freezer.state'), freeze ? 'FROZEN' : 'THAWED');
  }
}

/** Thaws a frozen cgroup (a frozen process cannot handle a signal); a cgroup already gone is fine. */
export function thaw(cgroup: ContainerCgroup): void {
  const s = freezerState(cgroup);
  if (s === undefined || s === 'thawed') return;
  try {
    writeFreezer(cgroup, false);
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
export async function freeze(cgroup: ContainerCgroup, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    writeFreezer(cgroup, true);
    if (freezerState(cgroup) === 'frozen') return;
    if (Date.now() >= deadline) {
      writeFreezer(cgroup, false);
      throw new BoxError('the container did not freeze in time (a process is stuck in the kernel): it was left running');
    }
    await delay(Math.min(1 + i, 20));
  }
}
