// The back-off of a restarting container: a tiny `box-helper delay` process that sleeps, then
// becomes `box internal restart ID` (native/PROTOCOL.md). Normally it is the container's monitor
// itself (its on-exit callback asks it to exec the delay); if it is killed while waiting, the next
// box command that looks at the container starts a new one for the time that was left.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { assetPath, isSea } from '../assets';
import { pidfdOpen, pidfdSendSignal } from '../linux/syscalls';
import { ContainerState } from '../model';
import { layout, Roots } from '../paths';
import { ownerAlive, processToken } from '../util/owner';

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

/** Starts a back-off of its own (in its own session, owned by nobody); returns what to record of it. */
export function startBackoff(roots: Roots, id: string, delayMs: number): Required<BackoffState> {
  const [cmd, ...args] = backoffArgv(roots, id, delayMs);
  // loaded here, not at the top: a start that needs no back-off does not pay for child_process
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env: {}, cwd: '/' });
  child.unref();
  const pid = child.pid!;
  // forked already, so its start time is known; it cannot be reaped before this (its parent is us)
  return { monitorPid: pid, backoffToken: processToken(pid) ?? `${pid}.0` };
}

/** The state of a container with no restart pending: what a record says of a back-off, cleared. */
export const NO_BACKOFF = { restarting: false, nextRestartAt: undefined, backoffToken: undefined } as const;

/** What a restarting container's record says of its back-off. */
export type BackoffState = Pick<ContainerState, 'monitorPid' | 'backoffToken'>;

/**
 * True if the record's back-off process is still there: the monitor whose container exited, from
 * the moment its exit callback recorded the restart until it has become the delay, then the delay,
 * then the box it became. Told by its token (pid and start time); a record written before tokens
 * by the command line, which only the delay and the box it became carry (`internal restart ID`).
 */
export function isBackoffAlive(state: BackoffState, id: string): boolean {
  const { monitorPid: pid, backoffToken: token } = state;
  if (!pid) return false;
  if (token !== undefined) return token.startsWith(`${pid}.`) && ownerAlive(token);
  return processToken(pid) !== undefined && isDelayOrAttempt(pid, id);
}

/** True if PID runs the back-off's command line of container ID (`internal restart ID`). */
function isDelayOrAttempt(pid: number, id: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`\0internal\0restart\0${id}\0`);
  } catch {
    return false;
  }
}

/**
 * Ends the back-off of a container that is no longer to be restarted by it. The delay, and the box
 * it became, take SIGTERM. A monitor that has not yet become the delay ignores it (its callback is
 * still finishing) and has nothing left to do: it is killed, else it would become the delay after.
 */
export function endBackoff(state: BackoffState, id: string): void {
  if (!isBackoffAlive(state, id)) return;
  const pid = state.monitorPid!;
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return; // gone meanwhile
  }
  try {
    // from here the pidfd names that very process: check it is still the back-off, then signal it
    if (!isBackoffAlive(state, id)) return;
    const signal = isDelayOrAttempt(pid, id) ? 'SIGTERM' : 'SIGKILL';
    pidfdSendSignal(fd, os.constants.signals[signal]);
  } catch {
    /* gone meanwhile */
  } finally {
    fs.closeSync(fd);
  }
}
