// The host's processes as /proc shows them, and which of them belong to this storage root: box
// commands and callbacks name it on their command line (`--root ROOT`, boxArgv), and the helper
// runs from the root's own cache (`<root>/cache/box-helper-*`). A process of another root, or
// Docker's and podman's, is never this root's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSea } from '../../assets';
import { pidfdOpen, pidfdSendSignal } from '../../linux/syscalls';
import { layout, Roots } from '../../paths';

export interface Proc {
  pid: number;
  ppid: number;
  /** the state letter of /proc/PID/stat: R, S, D, T (stopped), t (traced), Z... */
  state: string;
  /** start time in clock ticks since boot: with the pid, names this very process */
  start: string;
  exe: string;
  argv: string[];
}

export function readProc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let exe = '';
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      /* a zombie or a kernel thread */
    }
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return { pid, ppid: Number(fields[1]), state: fields[0], start: fields[19], exe, argv };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** Every process now (but this one). */
export function listProcs(): Proc[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .flatMap((d) => readProc(Number(d)) ?? []);
}

/** Whether the process is the root's helper (exe or argv[0] in the root's cache). */
export function isRootHelper(roots: Roots, p: Proc): boolean {
  const cache = layout.cache(roots) + path.sep;
  return (p.exe.startsWith(cache) || (p.argv[0] ?? '').startsWith(cache)) && p.argv[0]?.includes('box-helper');
}

/** Whether the process is a box command of this root (its command line names the root). */
export function isRootCommand(roots: Roots, p: Proc): boolean {
  const i = p.argv.indexOf('--root');
  return i >= 0 && p.argv[i + 1] === roots.root;
}

/**
 * Whether the process runs the box executable this command runs: a command of any root (one
 * started with BOX_ROOT or the default root names none on its command line). A helper whose
 * parent is one is that command's, not a leftover, whichever root it names.
 */
export function isBoxExecutable(p: Proc): boolean {
  if (p.exe === '' || p.exe !== process.execPath) return false;
  // unbundled (node + box's script), as boxArgv runs it: the script must be box's too
  return isSea() || p.argv[1] === process.argv[1];
}

/** `box ... internal EVENT ARG` on the process's command line (a back-off, a callback, a responder). */
export function internalCall(p: Proc): { event: string; arg: string } | undefined {
  const i = p.argv.lastIndexOf('internal');
  return i >= 0 && p.argv[i + 2] !== undefined ? { event: p.argv[i + 1], arg: p.argv[i + 2] } : undefined;
}

/**
 * SIGKILL to the process if it is still the one found (same pid and start time), through a pidfd
 * taken before that check, so a pid the kernel gives to another process meanwhile is never hit.
 * False when it is gone.
 */
export function killFound(pid: number, start: string | number): boolean {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (readProc(pid)?.start !== String(start)) return false;
    pidfdSendSignal(fd, 9);
    waitGone(pid, String(start), KILL_WAIT_MS);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** How long killFound waits for a killed process to be gone (its port, cgroup and netns freed). */
const KILL_WAIT_MS = 5000;

/** Polls, for at most `ms`, until the process (pid and start time) is gone or a zombie. */
function waitGone(pid: number, start: string, ms: number): void {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = readProc(pid);
    if (!p || p.start !== start || p.state === 'Z' || p.state === 'X' || Date.now() > deadline) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}
