// Entering another process's network namespace for a moment, on the calling (main) thread only.
//
// Linux keeps namespaces per thread, and Node's worker threads stay where they are, so this is
// safe only around synchronous work that creates kernel objects which remember their namespace
// (a netlink or inet socket): setns(2) in, the work, setns(2) back to the namespace saved before.
// The way back is always taken, even when the work throws; if it fails the process cannot go on
// safely (its main thread would act in a container's namespace), so that is a fatal error.
import * as fs from 'node:fs';
import { koffi, libc } from './ffi';
import { SyscallError } from './syscalls';

export const CLONE_NEWNET = 0x40000000;

let setnsFn: ((fd: number, nstype: number) => number) | undefined;

function setns(fd: number, nstype: number, what: string): void {
  if (!setnsFn) setnsFn = libc().func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;
  if (setnsFn(fd, nstype) !== 0) throw new SyscallError('setns', koffi().errno(), what);
}

/** A file descriptor for /proc/PID/ns/net; a SyscallError (code ENOENT) when the process is gone. */
export function openNetnsOf(pid: number): number {
  try {
    return fs.openSync(`/proc/${pid}/ns/net`, 'r');
  } catch (err) {
    const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 0);
    if (!errno) throw err;
    throw new SyscallError(`open the network namespace of process ${pid}`, errno);
  }
}

/**
 * Runs `work` (synchronous: never await inside) with the main thread in the network namespace of
 * process `pid`, then returns the thread to the namespace it was in.
 */
export function withNetnsOf<T>(pid: number, work: () => T): T {
  const target = openNetnsOf(pid);
  let saved: number | undefined;
  try {
    saved = fs.openSync('/proc/thread-self/ns/net', 'r');
    setns(target, CLONE_NEWNET, `/proc/${pid}/ns/net`);
    try {
      return work();
    } finally {
      try {
        setns(saved, CLONE_NEWNET, '/proc/thread-self/ns/net (the way back)');
      } catch (err) {
        // Nothing done on this thread from here on could be trusted to act on the host.
        process.stderr.write(`box: fatal: ${(err as Error).message}\n`);
        process.abort();
      }
    }
  } finally {
    fs.closeSync(target);
    if (saved !== undefined) fs.closeSync(saved);
  }
}
