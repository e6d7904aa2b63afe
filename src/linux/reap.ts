// Reaping the children spawn.ts started: libuv's SIGCHLD handler waitpid()s only the processes it
// started itself, so anything else would stay a zombie until box exits. On each SIGCHLD (Node's
// listener, delivered through the event loop: no polling) every pid still awaited is asked with
// WNOHANG; the signal carries no pid, and several exits may share one.
import * as os from 'node:os';
import { koffi, libc } from './ffi';

const WNOHANG = 1;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Awaited {
  onExit: (status: ExitStatus) => void;
  /** keeps the event loop alive until the exit is known (a SIGCHLD listener does not) */
  keepAlive: NodeJS.Timeout;
}

const awaited = new Map<number, Awaited>();
type WaitpidFn = (pid: number, status: Int32Array, options: number) => number;
let waitpidFn: WaitpidFn | undefined;

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}

function sweep(): void {
  waitpidFn ??= libc().func('int waitpid(int pid, _Out_ int *status, int options)') as WaitpidFn;
  const status = new Int32Array(1);
  for (const [pid, entry] of awaited) {
    const rc = waitpidFn!(pid, status, WNOHANG);
    if (rc === 0 || (rc < 0 && koffi().errno() === os.constants.errno.EINTR)) continue;
    awaited.delete(pid);
    clearInterval(entry.keepAlive);
    const s = status[0];
    // rc < 0 (ECHILD: someone else reaped it) leaves nothing to tell
    if (rc < 0) entry.onExit({ code: null, signal: null });
    else if ((s & 0x7f) === 0) entry.onExit({ code: (s >> 8) & 0xff, signal: null });
    else entry.onExit({ code: null, signal: signalName(s & 0x7f) });
  }
  if (awaited.size === 0) process.off('SIGCHLD', sweep);
}

/**
 * Calls onExit once the child `pid` of this process (started by spawn.ts) exits, and reaps it. Until
 * then the event loop stays alive, unless the returned function is called (unref: the exit no longer
 * matters to this process; it is still reaped if this process lives long enough to see it).
 */
export function reapOnExit(pid: number, onExit: (status: ExitStatus) => void): () => void {
  if (awaited.size === 0) process.on('SIGCHLD', sweep);
  const keepAlive = setInterval(() => {}, 2 ** 30);
  awaited.set(pid, { onExit, keepAlive });
  sweep(); // it may have exited before the listener existed
  return () => keepAlive.unref();
}
