// Options given before the command (box --root DIR run ...), shared by every command.
import { Roots, resolveRoots } from '../paths';
import { trustRoots } from '../util/safe-open';

export const globals: { root?: string; runroot?: string } = {};

/** The roots a command works in, refused unless root-owned and tightened (once per process). */
export function roots(): Roots {
  const r = resolveRoots(globals);
  trustRoots(r);
  return r;
}
