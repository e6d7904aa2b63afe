// The back-off of a restarting container: a tiny `box-helper delay` process that sleeps, then
// becomes `box internal restart ID` (native/PROTOCOL.md). Normally it is the container's monitor
// itself (its on-exit callback asks it to exec the delay); if it is killed while waiting, the next
// box command that looks at the container starts a new one for the time that was left.
import * as fs from 'node:fs';
import { assetPath, isSea } from '../assets';
import { layout, Roots } from '../paths';

/** The command line that runs this very box (the single executable, or node + bundle in dev). */
export function boxArgv(roots: Roots): string[] {
  const self = isSea() ? [process.execPath] : [process.execPath, process.argv[1]];
  return [...self, '--root', roots.root, '--runroot', roots.runroot];
}

/** The back-off's command line: wait delayMs, then start the container's next attempt. */
export function backoffArgv(
  roots: Roots,
  id: string,
  delayMs: number,
  helperPath = assetPath('box-helper', layout.cache(roots)),
): string[] {
  return [helperPath, 'delay', String(Math.max(0, Math.round(delayMs))), ...boxArgv(roots), 'internal', 'restart', id];
}

/** Starts a back-off of its own (in its own session, owned by nobody); returns its pid. */
export function startBackoff(roots: Roots, id: string, delayMs: number): number {
  const [cmd, ...args] = backoffArgv(roots, id, delayMs);
  // loaded here, not at the top: a start that needs no back-off does not pay for child_process
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env: {}, cwd: '/' });
  child.unref();
  return child.pid!;
}

/**
 * True if PID is still the back-off of container ID: the delay, or the box it became (both carry
 * `internal restart ID` in their command line; a recycled pid does not).
 */
export function isBackoffAlive(pid: number | undefined, id: string): boolean {
  if (!pid) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`\0internal\0restart\0${id}\0`);
  } catch {
    return false;
  }
}

/** Ends the back-off of a container that is no longer to be restarted by it (SIGTERM cancels it). */
export function endBackoff(pid: number | undefined, id: string): void {
  if (!isBackoffAlive(pid, id)) return;
  try {
    process.kill(pid!, 'SIGTERM');
  } catch {
    /* gone meanwhile */
  }
}
